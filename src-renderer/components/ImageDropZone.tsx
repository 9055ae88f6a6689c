/**
 * An image from this browser's computer: dropped here or picked with the file chooser, uploaded to `nexus serve`
 * (POST /upload, streamed into its staging folder with a size cap; see src-main/server/upload.ts) and then used
 * like a typed path. Only in a browser: the desktop app opens the file where it is (native dialog).
 */
import { Box, Button, LinearProgress, Typography } from '@mui/material';
import { useRef, useState, type DragEvent } from 'react';
import type { ErrorInfo } from '../../src-shared/contract';
import { formatBytes } from '../../src-shared/format';
import { useCatalogStore } from '../stores/catalog-store';
import { ErrorAlert } from './ErrorAlert';

const ACCEPT = '.img,.iso,.raw,.bin,.xz,.gz,.zst,.bz2,.zip';

function upload(file: File, onProgress: (sent: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/upload?name=${encodeURIComponent(file.name)}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onerror = () =>
      reject({
        code: 'UPLOAD_FAILED',
        message: 'The connection to Nexus Imager was lost during the upload.',
        hint: 'Check that nexus serve is running, then try again.',
      } satisfies ErrorInfo);
    xhr.onload = () => {
      try {
        const r = JSON.parse(xhr.responseText) as { ok: true; value: { path: string } } | { ok: false; error: ErrorInfo };
        if (r.ok) resolve(r.value.path);
        else reject(r.error);
      } catch {
        reject({
          code: 'UPLOAD_FAILED',
          message: `The upload was refused (HTTP ${xhr.status}).`,
          hint: 'Reload the page from the URL nexus serve printed.',
        } satisfies ErrorInfo);
      }
    };
    xhr.send(file);
  });
}

export function ImageDropZone({ onPath }: { onPath: (path: string) => void }) {
  const browser = useCatalogStore((s) => s.system?.transport === 'websocket');
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [sending, setSending] = useState<{ name: string; size: number; sent: number } | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  if (!browser) return null;

  const take = async (file: File | undefined) => {
    if (!file || sending) return;
    setError(null);
    setSending({ name: file.name, size: file.size, sent: 0 });
    try {
      const path = await upload(file, (sent) => setSending({ name: file.name, size: file.size, sent }));
      onPath(path);
    } catch (err) {
      setError(err as ErrorInfo);
    } finally {
      setSending(null);
    }
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    void take(e.dataTransfer.files[0]);
  };
  return (
    <Box
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      aria-label="Drop an image file here"
      sx={{
        border: 2,
        borderStyle: 'dashed',
        borderColor: over ? 'primary.main' : 'divider',
        borderRadius: 1,
        p: 2,
        textAlign: 'center',
        bgcolor: over ? 'action.hover' : undefined,
      }}
    >
      <Typography variant="body2" sx={{ mb: 1 }}>
        Drop an image file from this computer here, or
      </Typography>
      <Button variant="outlined" onClick={() => input.current?.click()} disabled={!!sending}>
        Upload an image file…
      </Button>
      <input ref={input} type="file" accept={ACCEPT} hidden aria-label="Image file to upload" onChange={(e) => void take(e.target.files?.[0])} />
      {sending && (
        <Box role="status" sx={{ mt: 1 }}>
          <Typography variant="caption">
            Uploading {sending.name}: {formatBytes(sending.sent)} of {formatBytes(sending.size)}
          </Typography>
          <LinearProgress variant="determinate" value={sending.size ? (100 * sending.sent) / sending.size : 0} aria-label="Upload progress" />
        </Box>
      )}
      {error && <ErrorAlert error={error} title="The image could not be uploaded" />}
    </Box>
  );
}
