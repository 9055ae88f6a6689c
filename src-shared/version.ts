/** The one place the version is written (the CLI's --version, manifests, SBOMs, the server's hello); it equals package.json's (a unit test keeps them equal). */
export const NEXUS_VERSION = '0.1.0';
