/** An error `kemu` reports as its own message (`kemu: ...`), without a stack. */
export class KemuError extends Error {}
