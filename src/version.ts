// The running orch's version; test/version.test.ts keeps it equal to package.json's.
export const ORCH_VERSION = "0.1.0";
