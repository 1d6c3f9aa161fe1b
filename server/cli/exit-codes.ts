/** Exit codes of every `tokenproc` command (see the spec). */
export const EXIT_OK = 0;
/** The procedure or request was refused; the OAuth error is printed. */
export const EXIT_REFUSED = 1;
/** Usage, file or compile error. */
export const EXIT_USAGE = 2;

/** An error meant for the user: printed without a stack trace, ends with its exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_USAGE) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
