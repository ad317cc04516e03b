/** include/uapi/asm-generic/errno-base.h values the model's system calls return (negated). */
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EEXIST = 17;
export const EINVAL = 22;
export const EPIPE = 32;
export const EAGAIN = 11;
export const EBADF = 9;
export const EBUSY = 16;
/** include/uapi/asm-generic/errno.h */
export const EOPNOTSUPP = 95;
/** Kernel-internal: the call slept and is restarted (the model's "blocked, retry later"). */
export const ERESTARTSYS = 512;

const NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  22: 'EINVAL',
  32: 'EPIPE',
  95: 'EOPNOTSUPP',
};

/** "-EINVAL" for -22, the number itself otherwise. */
export function errnoName(ret: number): string {
  return ret < 0 && NAMES[-ret] ? `-${NAMES[-ret]}` : String(ret);
}
