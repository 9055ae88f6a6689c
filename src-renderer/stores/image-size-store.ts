/**
 * The decompressed size of an existing compressed image whose file does not record it (gzip above deflate's
 * trustworthy-ISIZE bound, bzip2): counted once in main by decompressing, with progress, before drives are
 * offered, so a too-small card is flagged before anything is confirmed.
 */
import { create } from 'zustand';
import type { ErrorInfo, ImageInfo, Payload } from '../../src-shared/contract';
import { call, newJobId } from './api';
import { cancelJob, runJob } from './job';

interface ImageSizeState {
  /** The image path the other fields are about. */
  path: string | null;
  status: 'idle' | 'counting' | 'done' | 'failed';
  jobId: string | null;
  size: number | null;
  exact: boolean;
  read: number;
  total: number;
  error: ErrorInfo | null;
  measure(path: string): Promise<void>;
  cancel(): Promise<void>;
  onProgress(p: Payload<'image.progress'>): void;
}

export const useImageSizeStore = create<ImageSizeState>((set, get) => ({
  path: null,
  status: 'idle',
  jobId: null,
  size: null,
  exact: false,
  read: 0,
  total: 0,
  error: null,
  async measure(path) {
    const s = get();
    if (s.path === path && (s.status === 'counting' || s.status === 'done')) return;
    if (s.status === 'counting') await get().cancel();
    const jobId = newJobId();
    set({ path, status: 'counting', jobId, size: null, exact: false, read: 0, total: 0, error: null });
    const o = await runJob(() => call('image.measure', { jobId, path }));
    if (get().jobId !== jobId) return;
    set(o.status === 'done' ? { status: 'done', size: o.value.imageSize, exact: o.value.exact } : { status: 'failed', error: o.error });
  },
  async cancel() {
    const { jobId, status } = get();
    if (status === 'counting') await cancelJob(jobId);
  },
  onProgress({ jobId, bytesRead, bytesTotal }) {
    if (jobId === get().jobId) set({ read: bytesRead, total: bytesTotal });
  },
}));

/** An image from a URL, downloaded and checked against its SHA-256 before drives are judged (image.fetch). */
interface FetchState {
  url: string | null;
  status: 'idle' | 'downloading' | 'done' | 'failed';
  jobId: string | null;
  /** The downloaded file and what it puts on a drive. */
  info: ImageInfo | null;
  received: number;
  error: ErrorInfo | null;
  fetch(url: string, sha256: string): Promise<void>;
  cancel(): Promise<void>;
  onProgress(p: Payload<'image.progress'>): void;
}

export const useImageFetchStore = create<FetchState>((set, get) => ({
  url: null,
  status: 'idle',
  jobId: null,
  info: null,
  received: 0,
  error: null,
  async fetch(url, sha256) {
    const s = get();
    if (s.url === url && (s.status === 'downloading' || s.status === 'done')) return;
    const jobId = newJobId();
    set({ url, status: 'downloading', jobId, info: null, received: 0, error: null });
    const o = await runJob(() => call('image.fetch', { jobId, url, sha256 }));
    if (get().jobId !== jobId) return;
    set(o.status === 'done' ? { status: 'done', info: o.value } : { status: 'failed', error: o.error });
  },
  async cancel() {
    const { jobId, status } = get();
    if (status === 'downloading') await cancelJob(jobId);
  },
  onProgress({ jobId, bytesRead }) {
    if (jobId === get().jobId) set({ received: bytesRead });
  },
}));
