/** `nexus vm` and `--boot-test`: boot an image in QEMU and wait for its boot marker. */
export { bootTest, consoleLogPath, type BootTestOptions, type BootTestResult } from './boot-test';
export { qemuSetup, QEMU_DISPLAYS, type QemuDisplay, type QemuSetup } from './qemu';
export { colourShares, parsePpm, qmpCommands, screendump, type Ppm } from './qmp';
