// The package ships no typings for FacadeVFS.js; these cover what vfs/ uses.
declare module '@journeyapps/wa-sqlite/src/FacadeVFS.js' {
  export class FacadeVFS {
    name: string;
    mxPathname: number;
    _module: any;
    constructor(name: string, module: any);
    hasAsyncMethod(methodName: string): boolean;
    close(): void | Promise<void>;
    isReady(): boolean | Promise<boolean>;
  }
}
