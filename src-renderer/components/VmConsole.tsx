/**
 * "Try in a VM": the built image boots in QEMU and its serial console shows here live, as a terminal (text,
 * escape sequences removed). The boot marker's line is highlighted; the user can type on the console (log in)
 * and Stop ends the VM. Offered only for VM boards: a Pi 5 or VisionFive 2 image needs that board's firmware.
 */
import { Alert, Box, Button, Stack, TextField, Typography } from '@mui/material';
import { useEffect, useRef, useState } from 'react';
import type { BoardView } from '../../src-shared/contract';
import { useCatalogStore } from '../stores/catalog-store';
import { useVmStore } from '../stores/vm-store';
import { ErrorAlert } from './ErrorAlert';

export function VmConsole({ historyId, board }: { historyId: string; board: BoardView | undefined }) {
  const vm = useVmStore();
  const qemu = useCatalogStore((s) => s.system?.qemu ?? []);
  const [input, setInput] = useState('');
  const screen = useRef<HTMLPreElement>(null);
  const mine = vm.historyId === historyId;
  const live = mine && (vm.status === 'booting' || vm.status === 'running' || vm.status === 'stopping');
  useEffect(() => {
    const el = screen.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [vm.lines.length, vm.partial]);

  if (!board || board.kind !== 'vm') {
    return board ? (
      <Typography variant="body2" sx={{ mt: 2 }}>
        To try this Box in a virtual machine, build it for the QEMU board of its architecture: the {board.title} image starts only on that hardware.
      </Typography>
    ) : null;
  }
  if (!qemu.includes(board.arch)) {
    return (
      <Alert severity="info" sx={{ mt: 2 }}>
        Install QEMU for {board.arch} on the computer running Nexus Imager to try the image in a VM (nexus doctor says how).
      </Alert>
    );
  }
  const send = async (text: string) => {
    await vm.type(text);
    setInput('');
  };
  return (
    <Box component="section" aria-label="Virtual machine" sx={{ mt: 2 }}>
      <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1 }}>
        {!live && (
          <Button variant="outlined" onClick={() => void vm.start(historyId)}>
            {mine && vm.status !== 'idle' ? 'Start the VM again' : 'Try in a VM'}
          </Button>
        )}
        {live && (
          <Button variant="outlined" color="warning" onClick={() => void vm.stop()} disabled={vm.status === 'stopping'}>
            {vm.status === 'stopping' ? 'Stopping…' : 'Stop the VM'}
          </Button>
        )}
        <Typography role="status" variant="body2">
          {mine && vm.status === 'booting' && 'Booting in QEMU (software emulation: about a minute)…'}
          {mine && vm.status === 'running' && 'Booted. Log in on the console below.'}
          {mine && vm.status === 'stopped' && `The VM stopped${vm.marker ? ' (it had booted)' : ''}.`}
        </Typography>
      </Stack>
      {mine && vm.marker && (
        <Alert severity="success" sx={{ mb: 1 }}>
          It booted: <mark>{vm.marker}</mark>
        </Alert>
      )}
      {mine && vm.error && <ErrorAlert error={vm.error} title="The VM could not be started" />}
      {mine && (vm.lines.length > 0 || vm.partial) && (
        <Box
          component="pre"
          ref={screen}
          role="log"
          aria-label="VM console"
          aria-live="off"
          tabIndex={0}
          sx={{
            m: 0,
            p: 1,
            height: 320,
            overflow: 'auto',
            bgcolor: '#111',
            color: '#e6e6e6',
            fontFamily: 'monospace',
            fontSize: 13,
            lineHeight: 1.35,
            whiteSpace: 'pre-wrap',
            wordBreak: 'break-all',
            borderRadius: 1,
          }}
        >
          {vm.lines.map((l, i) =>
            vm.marker && l.includes(vm.marker) ? (
              <mark key={i} data-boot-marker style={{ background: '#ffd54f', color: '#000' }}>
                {l}
                {'\n'}
              </mark>
            ) : (
              `${l}\n`
            ),
          )}
          {vm.partial}
        </Box>
      )}
      {mine && vm.status === 'running' && (
        <Box
          component="form"
          onSubmit={(e) => {
            e.preventDefault();
            void send(`${input}\n`);
          }}
          sx={{ mt: 1, display: 'flex', gap: 1 }}
        >
          <TextField
            size="small"
            label="Type on the console"
            value={input}
            onChange={(e) => setInput(e.target.value)}
            autoComplete="off"
            sx={{ flex: 1 }}
            slotProps={{ htmlInput: { spellCheck: false } }}
          />
          <Button type="submit" variant="outlined">
            Send ⏎
          </Button>
        </Box>
      )}
    </Box>
  );
}
