// Fixture: browser-only globals. Type-checks in the renderer, not in src-shared or the main process.
export const title: string = document.title;
export const width: number = window.innerWidth;
