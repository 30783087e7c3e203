/** scripts/build-dist.mjs: compiles the server into a dist/ that runs on its own. */
export declare const ROOT: string;
export declare function findTsc(): string | undefined;
export declare function copyRuntimeFiles(out?: string): void;
export declare function compileDist(out?: string, tsc?: string): number;
