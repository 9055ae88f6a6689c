// Fixture: Node-only globals. Type-checks in the main process, not in src-shared or the renderer.
export const home: string | undefined = process.env.HOME;
export const bytes: Buffer = Buffer.from('nexus');
