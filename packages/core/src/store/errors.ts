/**
 * The one error the baseline store throws for a bad file, bad input or a lock it cannot take.
 * It always names the file and the JSON pointer (RFC 6901) of the offending value, so a reader
 * can go straight to it: `baselines/cpu-amd-epyc-2c.json at /entries/bmm-f32/stats/medianNs: ...`.
 */
export class BaselineError extends Error {
  override name = 'BaselineError'
  /** Path of the baseline file concerned (or the directory, when no file name could be made). */
  readonly file: string
  /** JSON pointer of the offending value; '' for the whole document. */
  readonly pointer: string

  constructor(file: string, pointer: string, problem: string, options?: ErrorOptions) {
    super(`${file}${pointer === '' ? '' : ` at ${pointer}`}: ${problem}`, options)
    this.file = file
    this.pointer = pointer
  }
}
