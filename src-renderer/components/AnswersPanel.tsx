import { Alert, Box, Button, List, ListItem, TextField, Typography } from '@mui/material';
import { useEffect, useState } from 'react';
import { useAnswersStore } from '../stores/answers-store';
import { ErrorAlert } from './ErrorAlert';

const validPort = (s: string) => /^\d+$/.test(s) && Number(s) >= 1024 && Number(s) <= 65535;

/**
 * openbox: OpenBSD's installer fetches its answers (install.conf) over the network, so the image stays
 * exactly what OpenBSD signed. This shares the build's answers file until the user stops it.
 */
export function AnswersPanel({ historyId }: { historyId: string }) {
  const a = useAnswersStore();
  const [port, setPort] = useState('8080');
  const active = a.historyId === historyId && (a.status === 'starting' || a.status === 'serving');
  const stop = a.stop;
  useEffect(() => () => void stop(), [stop]);
  const portError = validPort(port) ? null : 'A port from 1024 to 65535';
  return (
    <Box component="section" aria-label="Install answers" sx={{ my: 2 }}>
      <Typography component="h3" variant="subtitle1">
        Install answers for OpenBSD
      </Typography>
      <Typography variant="body2" sx={{ mb: 1 }}>
        OpenBSD&apos;s installer fetches your choices (host name, user, SSH key, time zone) from this computer over the local network. Keep this computer and
        the board on the same network while it installs.
      </Typography>
      {!active && (
        <Box sx={{ display: 'flex', gap: 2, alignItems: 'flex-start' }}>
          <TextField
            size="small"
            label="Port"
            value={port}
            onChange={(e) => setPort(e.target.value.trim())}
            error={!!portError}
            helperText={portError ?? ' '}
            slotProps={{ htmlInput: { inputMode: 'numeric' } }}
            sx={{ width: 140 }}
          />
          <Button variant="contained" onClick={() => void a.start(historyId, Number(port))} disabled={!!portError}>
            Share the install answers
          </Button>
        </Box>
      )}
      {a.status === 'starting' && active && <Typography role="status">Starting…</Typography>}
      {a.status === 'serving' && active && (
        <>
          <Alert severity="info" role="status">
            Sharing. At the installer&apos;s &quot;Response file location?&quot; prompt type one of:
            <List dense aria-label="Answers URLs">
              {a.urls.map((u) => (
                <ListItem key={u}>
                  <code>{u}</code>
                </ListItem>
              ))}
            </List>
            {a.fetches.length === 0 ? (
              'No board has fetched them yet.'
            ) : (
              <List dense aria-label="Fetches">
                {a.fetches.map((f) => (
                  <ListItem key={`${f.time}-${f.path}`}>
                    {f.from} {f.status === 200 ? 'fetched' : 'asked for'} {f.path}
                    {f.status === 200 ? '' : ` (${f.status})`}
                  </ListItem>
                ))}
              </List>
            )}
          </Alert>
          <Button variant="outlined" sx={{ mt: 1 }} onClick={() => void a.stop()}>
            Stop sharing
          </Button>
        </>
      )}
      {a.status === 'failed' && a.historyId === historyId && a.error && <ErrorAlert error={a.error} title="The answers could not be shared" />}
    </Box>
  );
}
