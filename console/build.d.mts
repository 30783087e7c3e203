/** console/build.mjs: builds the integrity console into dist/console. */
export declare const CONSOLE_OUT: string;
export declare function buildConsole(out?: string): Promise<{ out: string; script: string; style: string | undefined; bytes: number }>;
