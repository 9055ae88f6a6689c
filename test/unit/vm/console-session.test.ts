/**
 * The console session against console text shaped like BusyBox getty/login and ash over a serial line (CR LF line
 * ends, echoed input, prompts without a newline), fed in arbitrary chunks as QEMU delivers them.
 */
import { describe, expect, it } from 'vitest';
import { ConsoleSession } from '../../../src-main/engine/vm/console-session';

/** A tiny fake of the far end: answers what the session types, the way getty, login and ash would. */
const LONG = "stat -c '%a %U' /var/lib/nexus/state/wireguard/private.key";

function farEnd(opts: { password: string; flushTypeAhead?: boolean }) {
  const out: string[] = [];
  let stage: 'login' | 'password' | 'shell' = 'login';
  const respond = (typed: string): string => {
    const line = typed.replace(/\n$/, '');
    if (stage === 'login') {
      stage = 'password';
      return `${line}\r\nPassword: `;
    }
    if (stage === 'password') {
      if (line !== opts.password) {
        stage = 'login';
        return '\r\nLogin incorrect\r\ntinybox login: ';
      }
      stage = 'shell';
      // BusyBox ash asks the terminal for the cursor position (ESC[6n) right after its prompt.
      return '\r\nWelcome to Nexus.\r\ntinybox:~$ \x1b[6n';
    }
    const [cmd] = line.split('; echo __NX_END_$?__');
    const answers: Record<string, [string, number]> = {
      mount: ['rootfs on / type rootfs (rw)\r\nproc on /proc type proc (rw,nosuid,nodev,noexec,relatime)\r\n', 0],
      'ls /usr/sbin/dinit': ['\x1b[1;32m/usr/sbin/dinit\x1b[m\r\n', 0],
      'ls /nope': ['ls: /nope: No such file or directory\r\n', 1],
      [LONG]: ['600 root\r\n', 0],
      // dinit still finishing the boot: its status lines (coloured on the console) arrive among the output.
      'ls /usr/sbin/zsh': ['\x1b[1m[  \x1b[32mOK\x1b[0;1m  ]\x1b[0m dhcpcd\r\n[  OK  ] dropbear\r\n/usr/sbin/zsh\r\n[FAILED] mesh\r\n', 0],
    };
    const [text, status] = answers[cmd!] ?? ['', 127];
    // The terminal echoes typed-ahead input, then the shell's line editor shows it again after its prompt.
    // The line editor wraps at the terminal's 80 columns, anywhere (here: inside the literal marker).
    const edited = `tinybox:~$ ${line}`.replace(/.{80}(?=.)/g, '$&\r\n');
    return `${line}\r\n${edited}\r\n${text}__NX_END_${status}__\r\ntinybox:~$ \x1b[6n`;
  };
  return { out, respond };
}

function run(commands: string[], password: string, typedPassword = password) {
  const end = farEnd({ password });
  const session: ConsoleSession = new ConsoleSession({ login: { user: 'ada', password: typedPassword }, commands }, (t) => {
    // Deliver the answer in small chunks, as a serial line does.
    const reply = end.respond(t);
    for (let i = 0; i < reply.length; i += 7) session.feed(reply.slice(i, i + 7));
  });
  const boot = '[    1.2] Run /init as init process\r\nNEXUS-BOOT-OK box=tinybox\r\n\r\ntinybox login: ';
  for (let i = 0; i < boot.length; i += 5) session.feed(boot.slice(i, i + 5));
  return session;
}

describe('console session', () => {
  it("logs in and reads each command's output and exit status", () => {
    const s = run(['mount', 'ls /usr/sbin/dinit', 'ls /nope'], 'correct horse');
    expect(s.error).toBeNull();
    expect(s.done).toBe(true);
    expect(s.results).toEqual([
      { command: 'mount', output: 'rootfs on / type rootfs (rw)\nproc on /proc type proc (rw,nosuid,nodev,noexec,relatime)', status: 0 },
      { command: 'ls /usr/sbin/dinit', output: '/usr/sbin/dinit', status: 0 },
      { command: 'ls /nope', output: 'ls: /nope: No such file or directory', status: 1 },
    ]);
  });

  it("finds the end of a long command's echo that the terminal wrapped inside the marker", () => {
    expect(`tinybox:~$ ${LONG}; echo __NX_END_$?__`.length).toBeGreaterThan(80);
    const s = run([LONG, 'ls /usr/sbin/dinit'], 'pw');
    expect(s.error).toBeNull();
    expect(s.results).toEqual([
      { command: LONG, output: '600 root', status: 0 },
      { command: 'ls /usr/sbin/dinit', output: '/usr/sbin/dinit', status: 0 },
    ]);
  });

  it("leaves dinit's status lines, printed while the boot finishes, out of a command's output", () => {
    const s = run(['ls /usr/sbin/zsh', 'mount'], 'pw');
    expect(s.error).toBeNull();
    expect(s.results[0]).toMatchObject({ output: '/usr/sbin/zsh', status: 0 });
    expect(s.results[1]?.output).toMatch(/^rootfs on \/ type rootfs/);
  });

  it('fails clearly on a refused login', () => {
    const s = run(['mount'], 'correct horse', 'wrong');
    expect(s.done).toBe(true);
    expect(s.error).toMatch(/refused the login of "ada"/);
    expect(s.results).toEqual([]);
  });

  it('counts the wait for the login prompt from the boot marker, not from power-on', () => {
    const s = new ConsoleSession({ login: { user: 'ada', password: 'x' }, commands: ['true'], stepSeconds: 5 }, () => {});
    s.feed('a slow boot...\r\n');
    const marker = Date.now() + 60_000; // the boot took a minute
    s.markBooted(marker);
    s.checkTimeout(marker + 4_000);
    expect(s.error).toBeNull();
    s.checkTimeout(marker + 6_000);
    expect(s.error).toMatch(/no login prompt/);
  });

  it('times out a step that never comes, naming it', () => {
    const s = new ConsoleSession({ login: { user: 'ada', password: 'x' }, commands: ['true'], stepSeconds: 5 }, () => {});
    s.feed('booting...\r\n');
    s.checkTimeout(Date.now() + 10_000);
    expect(s.error).toMatch(/no login prompt \("login:"\) on the console within 5 s/);
  });
});
