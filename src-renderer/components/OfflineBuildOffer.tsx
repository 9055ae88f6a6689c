import { Alert, AlertTitle, Button, Typography } from '@mui/material';
import { useEffect, useState } from 'react';
import type { KitBuildable, KitChoice } from '../../src-shared/offline-kit';
import { useCustomizeStore } from '../stores/customize-store';
import { offlineStatus, useKitStore } from '../stores/kit-store';
import { useSelectionStore } from '../stores/selection-store';

/**
 * Shown when a build failed because no package mirror answered (MIRROR_UNREACHABLE): build from what the cache
 * holds (an imported offline kit, or earlier downloads) instead, saying first whether the cache has everything
 * (checked again after a kit is imported).
 */
export function OfflineBuildOffer({ onBuildOffline, onOpenKit }: { onBuildOffline: () => void; onOpenKit: () => void }) {
  const box = useSelectionStore((s) => s.box);
  const board = useSelectionStore((s) => s.board);
  const fragments = useCustomizeStore((s) => s.fragments);
  const branch = useCustomizeStore((s) => s.branch);
  const imported = useKitStore((s) => s.import.result);
  const [status, setStatus] = useState<KitBuildable | null>(null);
  useEffect(() => {
    if (!box || !board) return;
    const choice: KitChoice = { profile: box, target: board, fragments: fragments ?? [], ...(branch ? { branch } : {}) };
    let live = true;
    void offlineStatus(choice).then((s) => live && setStatus(s));
    return () => {
      live = false;
    };
  }, [box, board, fragments, branch, imported]);
  return (
    <Alert
      severity="info"
      sx={{ my: 2 }}
      action={
        <Button color="inherit" onClick={onOpenKit}>
          Import an offline kit…
        </Button>
      }
    >
      <AlertTitle>No network? Build without a mirror</AlertTitle>
      Everything this build needs can come from an offline kit imported here, or from packages downloaded earlier.
      {status && (
        <Typography variant="body2" role="status" sx={{ mt: 1 }}>
          {status.buildable
            ? 'This computer has everything this build needs.'
            : `Not everything is here yet (${status.missing.slice(0, 2).join('; ')}): import an offline kit first.`}
        </Typography>
      )}
      <div>
        <Button variant="contained" size="small" sx={{ mt: 1 }} onClick={onBuildOffline}>
          Build from the offline kit
        </Button>
      </div>
    </Alert>
  );
}
