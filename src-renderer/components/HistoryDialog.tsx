import { Button, Dialog, DialogActions, DialogContent, DialogTitle, List, ListItem, ListItemText, Stack, Typography } from '@mui/material';
import { useEffect } from 'react';
import { formatBytes } from '../../src-shared/format';
import { useHistoryStore } from '../stores/history-store';
import { useSelectionStore } from '../stores/selection-store';
import { useWizardStore } from '../stores/wizard-store';

/** Recent builds, to write a card again without rebuilding. */
export function HistoryDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { entries, load, remove } = useHistoryStore();
  useEffect(() => {
    if (open) void load();
  }, [open, load]);
  const writeAgain = (id: string) => {
    const e = entries.find((x) => x.id === id);
    if (!e) return;
    useSelectionStore.getState().useHistoryImage(e.image, e.size, e.board, e.bmap);
    useWizardStore.getState().goTo('drive');
    onClose();
  };
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="history-title" fullWidth maxWidth="md">
      <DialogTitle id="history-title">Build history</DialogTitle>
      <DialogContent>
        {entries.length === 0 && <Typography>No builds yet.</Typography>}
        <List aria-label="Recent builds">
          {entries.map((e) => (
            <ListItem
              key={e.id}
              divider
              secondaryAction={
                <Stack direction="row" spacing={1}>
                  <Button
                    size="small"
                    variant="contained"
                    disabled={!e.present}
                    onClick={() => writeAgain(e.id)}
                    aria-label={`Write ${e.box} for ${e.board} again`}
                  >
                    Write again
                  </Button>
                  <Button size="small" onClick={() => remove(e.id)} aria-label={`Forget ${e.box} for ${e.board}`}>
                    Forget
                  </Button>
                </Stack>
              }
            >
              <ListItemText
                primary={`${e.box} · ${e.arch} · ${e.board}${e.fragments.length ? ` · ${e.fragments.join(', ')}` : ''}`}
                secondary={`${new Date(e.time).toLocaleString()} · ${formatBytes(e.size)} · sha256 ${e.sha256.slice(0, 16)}…${e.present ? '' : ' · file missing'}`}
              />
            </ListItem>
          ))}
        </List>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}
