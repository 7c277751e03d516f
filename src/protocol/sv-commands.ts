// sv's command table (sv(8), COMMANDS): which letters a command word sends,
// which letters it waits for, and whether a timeout ends in `kill:` + `k`.

export interface SvCommand {
  /** `status` prints the status lines instead of sending anything */
  status: boolean;
  /** send `letters` to supervise/control in phase 1 (false for `check`) */
  send: boolean;
  /**
   * The letters sent and then waited for. Its first letter also decides
   * whether "runsv not running" is `ok:` (`x`) or `fail:` (anything else).
   */
  letters: string;
  /** 'always': wait even without -v; 'verbose': only with -v/-w; 'never' */
  wait: 'always' | 'verbose' | 'never';
  /** on timeout print `kill:` and send `k` */
  kill: boolean;
}

/** Letters sent as they are when a word starts with them. */
const LETTERS = 'udophaikq12';

function letter(letters: string, wait: SvCommand['wait'] = 'verbose', kill = false): SvCommand {
  return { status: false, send: true, letters, wait, kill };
}

const exact: Record<string, SvCommand> = {
  'try-restart': letter('tc', 'always'),
  check: { status: false, send: false, letters: 'C', wait: 'always', kill: false },
  shutdown: letter('x', 'always'),
  start: letter('u', 'always'),
  stop: letter('d', 'always'),
  restart: letter('tcu', 'always'),
  reload: letter('h', 'always'),
  'force-reload': letter('tc', 'always', true),
  'force-restart': letter('tcu', 'always', true),
  'force-shutdown': letter('x', 'always', true),
  'force-stop': letter('d', 'always', true),
};

/**
 * The command for `word`, or undefined for a usage error. Exact LSB words
 * first, then the first letter decides; in LSB mode the only `s` word left
 * is `status` itself.
 */
export function svCommand(word: string, lsb: boolean): SvCommand | undefined {
  const first = word[0] ?? '';
  switch (first) {
    case 'x':
    case 'e':
      return letter('x');
    case 'X':
    case 'E':
      return letter('x', 'always', true);
    case 'D':
      return letter('d', 'always', true);
    case 'T':
      return letter('tc', 'always', true);
    case 's':
      if (word === 'shutdown' || word === 'start' || word === 'stop') return exact[word];
      if (lsb && word !== 'status') return undefined;
      return { status: true, send: false, letters: 's', wait: 'never', kill: false };
    case 'r':
    case 'f':
      return Object.hasOwn(exact, word) ? exact[word] : undefined;
    case 't':
      if (word === 'try-restart') return exact[word];
      return letter('t');
    case 'c':
      if (word === 'check') return exact[word];
      return letter('c');
    default:
      if (first !== '' && LETTERS.includes(first)) return letter(first);
      return undefined;
  }
}
