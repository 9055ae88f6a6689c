/**
 * What a user does after the boot marker, done over the serial console: log in at the getty's prompt with a
 * user name and password, run commands, and read back each one's output and exit status. Fed with console
 * bytes as they arrive and given a writer for keystrokes, so it works on any byte stream (QEMU's stdio in the
 * boot test, a recorded transcript in unit tests).
 *
 * Each command is sent as `CMD; echo __NX_END_$?__`: the echoed input shows the literal `$?`, the shell's
 * answer shows a number, so the end of the output is found without guessing the prompt.
 */

export interface ConsoleLogin {
  user: string;
  /** Plain password typed at the prompt (a test account's; never stored). */
  password: string;
}

export interface ConsoleCommandResult {
  command: string;
  /** Output lines between the echoed command and the end marker, trimmed of CR. */
  output: string;
  status: number;
}

export interface ConsoleSessionPlan {
  login: ConsoleLogin;
  commands: string[];
  /** Seconds allowed for each step (prompt after the boot marker, login, one command). Default 90: TCG is slow. */
  stepSeconds?: number;
}

type Step = { kind: 'await-login-prompt' } | { kind: 'await-password-prompt' } | { kind: 'await-shell' } | { kind: 'await-end'; index: number };

const END = /__NX_END_(\d+)__/;
/** The echoed `echo __NX_END_$?__`, possibly broken by line wraps anywhere inside it. */
const ECHOED_END = new RegExp(
  '__NX_END_$?__'
    .split('')
    .map((c) => c.replace(/[$?]/, '\\$&'))
    .join('\\n?'),
  'g',
);
/** Terminal control sequences (colours, ash's cursor-position query ESC[6n) carry no text a test reads. */
// eslint-disable-next-line no-control-regex -- matching the terminal's escape character is the point
const ANSI = /\x1b(\[[0-9;?=]*[A-Za-z]|[()][A-Z0-9]|[=>])/g;
// eslint-disable-next-line no-control-regex -- as above: an escape sequence cut off at the end of a chunk
const PARTIAL_ANSI = /\x1b[[()]?[0-9;?=]*$/;

/**
 * dinit's own status lines ("[  OK  ] dropbear", "[FAILED] mesh", "[STOPPD] x"): the service manager writes them to
 * the console whenever a service changes state, so while the boot is still finishing they can land between a
 * command's echo and its output. They are never a command's output (dinit prints them only to the console).
 */
const DINIT_STATUS = /^\[ {0,2}(?:OK|FAILED|STOPPD) {0,2}\] [\w.@:-]+$/;

export class ConsoleSession {
  private buffer = '';
  private partial = '';
  /** Offset in `buffer` from which the current step looks for its prompt or marker. */
  private from = 0;
  private step: Step = { kind: 'await-login-prompt' };
  private stepStarted = Date.now();
  readonly results: ConsoleCommandResult[] = [];
  private failure: string | null = null;
  private finished = false;

  constructor(
    private readonly plan: ConsoleSessionPlan,
    private readonly write: (text: string) => void,
  ) {}

  get done(): boolean {
    return this.finished;
  }

  get error(): string | null {
    return this.failure;
  }

  /** Feeds console output; advances through login and commands as far as the text allows. */
  feed(text: string): void {
    if (this.finished) return;
    // A control sequence split across chunks is held back until it is complete.
    const pending = this.partial + text;
    const cut = PARTIAL_ANSI.exec(pending);
    this.partial = cut ? cut[0] : '';
    this.buffer += (cut ? pending.slice(0, cut.index) : pending).replace(/\r/g, '').replace(ANSI, '');
    for (let progressed = true; progressed && !this.finished;) progressed = this.advance();
  }

  /**
   * The boot itself has its own timeout: the wait for the login prompt counts from the boot marker (a slow boot
   * under load must not use up the prompt's time). Called by the boot test when it sees the marker.
   */
  markBooted(now = Date.now()): void {
    if (this.step.kind === 'await-login-prompt') this.stepStarted = now;
  }

  /** Called periodically: fails the session when the current step has waited too long. */
  checkTimeout(now = Date.now()): void {
    if (this.finished) return;
    const limit = (this.plan.stepSeconds ?? 90) * 1000;
    if (now - this.stepStarted > limit) this.fail(`no ${this.describeStep()} within ${limit / 1000} s`);
  }

  private describeStep(): string {
    switch (this.step.kind) {
      case 'await-login-prompt':
        return 'login prompt ("login:") on the console';
      case 'await-password-prompt':
        return 'password prompt after the user name';
      case 'await-shell':
        return 'shell prompt after the password';
      case 'await-end':
        return `end of the output of "${this.plan.commands[this.step.index]}"`;
    }
  }

  private fail(reason: string): void {
    this.failure = reason;
    this.finished = true;
  }

  private next(step: Step): void {
    this.step = step;
    this.stepStarted = Date.now();
  }

  private sendCommand(index: number): void {
    if (index >= this.plan.commands.length) {
      this.finished = true;
      return;
    }
    this.next({ kind: 'await-end', index });
    this.write(`${this.plan.commands[index]}; echo __NX_END_$?__\n`);
  }

  /** Consumes the text up to a prompt, then acts on it; false while the prompt has not come yet. */
  private onPrompt(rest: string, prompt: RegExp, act: () => void): boolean {
    if (this.step.kind !== 'await-login-prompt' && /Login incorrect/.test(rest)) {
      this.fail(`the console refused the login of "${this.plan.login.user}"`);
      return false;
    }
    const m = prompt.exec(rest);
    if (!m) return false;
    this.from += m.index + m[0].length;
    act();
    return true;
  }

  private advance(): boolean {
    const rest = this.buffer.slice(this.from);
    switch (this.step.kind) {
      case 'await-login-prompt':
        return this.onPrompt(rest, /login: *$/m, () => {
          this.next({ kind: 'await-password-prompt' });
          this.write(`${this.plan.login.user}\n`);
        });
      case 'await-password-prompt':
        return this.onPrompt(rest, /Password: *$/m, () => {
          this.next({ kind: 'await-shell' });
          this.write(`${this.plan.login.password}\n`);
        });
      // Typed-ahead input could be flushed by login: wait for the shell's prompt before the first command.
      case 'await-shell':
        return this.onPrompt(rest, /[#$] *$/m, () => this.sendCommand(0));
      case 'await-end': {
        if (/Login incorrect/.test(rest)) {
          this.fail(`the console refused the login of "${this.plan.login.user}"`);
          return false;
        }
        const m = END.exec(rest);
        if (!m) return false;
        const command = this.plan.commands[this.step.index]!;
        const before = rest.slice(0, m.index);
        // Drop everything up to and including the echoed command line (echoed twice when typed ahead: once by
        // the terminal, once by the shell's line editor after its prompt; a long one wrapped at the terminal's
        // width, even inside the literal marker), and the prompt left before the marker.
        let echoEnd = -1;
        for (const e of before.matchAll(ECHOED_END)) echoEnd = e.index + e[0].length;
        const afterEcho = echoEnd < 0 ? before : before.slice(echoEnd);
        const body = echoEnd < 0 ? afterEcho.split('\n') : afterEcho.split('\n').slice(1);
        if (body.length && !body[body.length - 1]!.trim()) body.pop();
        const output = body.filter((line) => !DINIT_STATUS.test(line));
        this.results.push({ command, output: output.join('\n').trim(), status: Number(m[1]) });
        this.from += m.index + m[0].length;
        this.sendCommand(this.step.index + 1);
        return true;
      }
    }
  }
}
