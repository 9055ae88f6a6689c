import {
  Alert,
  AlertTitle,
  Box,
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Divider,
  FormControlLabel,
  FormGroup,
  LinearProgress,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { useMemo, useState } from 'react';
import { formatBytes } from '../../src-shared/format';
import { choiceLabel, type KitChoice, type KitProgress } from '../../src-shared/offline-kit';
import { cardFitText } from '../../src-shared/card-sizes';
import { useBuildStore } from '../stores/build-store';
import { useCatalogStore } from '../stores/catalog-store';
import { useCustomizeStore } from '../stores/customize-store';
import { RESCUE_PC, useKitStore } from '../stores/kit-store';
import { useSelectionStore } from '../stores/selection-store';
import { useWizardStore } from '../stores/wizard-store';
import { ErrorAlert } from './ErrorAlert';

function Progress({ progress, label }: { progress: KitProgress | null; label: string }) {
  const pct = progress?.bytesTotal ? Math.min(100, (100 * (progress.bytesDone ?? 0)) / progress.bytesTotal) : undefined;
  return (
    <Box sx={{ my: 1 }} role="status" aria-label={label}>
      <LinearProgress variant={pct === undefined ? 'indeterminate' : 'determinate'} value={pct ?? 0} />
      <Typography variant="body2" color="text.secondary">
        {progress?.message ?? 'Starting…'}
        {progress?.bytesTotal ? ` (${formatBytes(progress.bytesDone ?? 0)} of ${formatBytes(progress.bytesTotal)})` : ''}
      </Typography>
    </Box>
  );
}

const keyOf = (c: KitChoice) => JSON.stringify([c.profile, c.target, [...c.fragments].sort(), c.branch ?? '']);

/** The choices offered for a kit: the wizard's current one, the rescue stick, and the other Linux Boxes on this board. */
function useOfferedChoices(): Array<{ choice: KitChoice; title: string }> {
  const catalog = useCatalogStore((s) => s.catalog);
  const mode = useSelectionStore((s) => s.mode);
  const box = useSelectionStore((s) => s.box);
  const board = useSelectionStore((s) => s.board);
  const fragments = useCustomizeStore((s) => s.fragments);
  const branch = useCustomizeStore((s) => s.branch);
  return useMemo(() => {
    const out: Array<{ choice: KitChoice; title: string }> = [];
    const add = (choice: KitChoice, title: string) => {
      if (!out.some((o) => keyOf(o.choice) === keyOf(choice))) out.push({ choice, title });
    };
    if (mode === 'build' && box && board) {
      const current: KitChoice = { profile: box, target: board, fragments: fragments ?? [], ...(branch ? { branch } : {}) };
      add(current, `Your current choice: ${choiceLabel(current)}`);
    }
    add(RESCUE_PC, `Rescue stick for a PC: ${choiceLabel(RESCUE_PC)}`);
    const boardView = catalog?.boards.find((b) => b.name === board);
    for (const b of catalog?.boxes ?? []) {
      if (b.recipe !== 'compose' || !boardView || !b.architectures.includes(boardView.arch)) continue;
      const c: KitChoice = { profile: b.name, target: boardView.name, fragments: [] };
      add(c, choiceLabel(c));
    }
    return out;
  }, [catalog, mode, box, board, fragments, branch]);
}

function PrepareSection() {
  const offered = useOfferedChoices();
  const [ticked, setTicked] = useState<Set<string>>(() => new Set(offered.slice(0, 1).map((o) => keyOf(o.choice))));
  const kit = useKitStore();
  const chosen = offered.filter((o) => ticked.has(keyOf(o.choice))).map((o) => o.choice);
  const planKey = JSON.stringify(chosen);
  const plan = kit.plan.key === planKey ? kit.plan : null;
  const toggle = (k: string) =>
    setTicked((s) => {
      const n = new Set(s);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });
  return (
    <Box component="section" aria-labelledby="kit-prepare-title">
      <Typography variant="h6" component="h3" id="kit-prepare-title">
        Prepare an offline kit
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        On a computer with network: everything a later build of the ticked choices needs (package indexes, packages, kernels and boot files, the signing keys)
        in one file with its checksum.
      </Typography>
      <FormGroup role="group" aria-label="Choices for the kit">
        {offered.map((o) => (
          <FormControlLabel
            key={keyOf(o.choice)}
            control={<Checkbox checked={ticked.has(keyOf(o.choice))} onChange={() => toggle(keyOf(o.choice))} />}
            label={o.title}
          />
        ))}
      </FormGroup>
      <Box sx={{ display: 'flex', gap: 1, my: 1 }}>
        <Button variant="outlined" onClick={() => void kit.planFor(chosen)} disabled={chosen.length === 0 || kit.plan.status === 'running'}>
          Show what it needs
        </Button>
        <Button variant="contained" onClick={() => void kit.prepareKit(chosen)} disabled={chosen.length === 0 || kit.prepare.status === 'running'}>
          Prepare the kit
        </Button>
        {kit.prepare.status === 'running' && (
          <Button color="warning" onClick={() => void kit.cancel('prepare')}>
            Cancel
          </Button>
        )}
      </Box>
      {kit.plan.status === 'running' && kit.plan.key === planKey && <LinearProgress aria-label="Resolving the kit" />}
      {plan?.error && <ErrorAlert error={plan.error} title="The kit cannot be planned" />}
      {plan?.value && (
        <>
          <Table size="small" aria-label="Kit contents">
            <TableHead>
              <TableRow>
                <TableCell>Choice</TableCell>
                <TableCell align="right">Packages</TableCell>
                <TableCell align="right">Download</TableCell>
                <TableCell>Needs a stick of</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {plan.value.choices.map((c) => (
                <TableRow key={c.label}>
                  <TableCell>
                    {c.label}
                    {c.reason ? (
                      <Typography variant="body2" color="warning.main">
                        {c.reason}
                      </Typography>
                    ) : null}
                  </TableCell>
                  <TableCell align="right">{c.packages}</TableCell>
                  <TableCell align="right">{formatBytes(c.downloadBytes)}</TableCell>
                  <TableCell>{c.stick ? `${c.stick} (image ${formatBytes(c.imageBytes)})` : `more than 256 GB`}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          <Typography sx={{ mt: 1 }} aria-label="Kit size">
            The kit file will be about {formatBytes(plan.value.bytes)}: {plan.value.packages} packages, {plan.value.indexes.length} package indexes.
          </Typography>
        </>
      )}
      {kit.prepare.status === 'running' && <Progress progress={kit.prepare.progress} label="Preparing the kit" />}
      {kit.prepare.status === 'failed' && kit.prepare.error && <ErrorAlert error={kit.prepare.error} title="The kit could not be prepared" />}
      {kit.prepare.status === 'cancelled' && (
        <Alert severity="warning" sx={{ my: 1 }}>
          Cancelled; no kit file was left behind.
        </Alert>
      )}
      {kit.prepare.status === 'done' && kit.prepare.result && (
        <Alert severity="success" role="status" sx={{ my: 1 }}>
          <AlertTitle>Kit ready</AlertTitle>
          <div style={{ wordBreak: 'break-all' }} aria-label="Prepared kit file">
            <code>{kit.prepare.result.file}</code>
          </div>
          {formatBytes(kit.prepare.result.bytes)}, {kit.prepare.result.packages} packages, {kit.prepare.result.indexes} indexes. SHA-256{' '}
          <code style={{ wordBreak: 'break-all' }}>{kit.prepare.result.sha256}</code>
          <div>
            Copy the file and <code>{kit.prepare.result.checksumFile.replace(/^.*\//, '')}</code> next to it to the offline computer (for example on a USB
            stick), then import it there.
          </div>
        </Alert>
      )}
    </Box>
  );
}

function ImportSection({ onClose }: { onClose: () => void }) {
  const [path, setPath] = useState('');
  const kit = useKitStore();
  const r = kit.import.result;
  const build = (c: KitChoice) => {
    const sel = useSelectionStore.getState();
    const catalog = useCatalogStore.getState().catalog;
    const board = catalog?.boards.find((b) => b.name === c.target);
    sel.chooseBox(c.profile);
    if (board) {
      sel.chooseArch(board.arch);
      sel.chooseBoard(board.name);
    }
    useCustomizeStore.setState({ fragments: [...c.fragments] });
    useWizardStore.getState().goTo('customize');
    onClose();
  };
  return (
    <Box component="section" aria-labelledby="kit-import-title">
      <Typography variant="h6" component="h3" id="kit-import-title">
        Import an offline kit
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        On the computer without network: the kit is checked against its checksum file and every package signature again, then builds need no mirror.
      </Typography>
      <Box sx={{ display: 'flex', gap: 1, alignItems: 'center' }}>
        <TextField
          label="Kit file"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          size="small"
          sx={{ flex: 1 }}
          placeholder="/media/usb/nexus-kit-….tar"
        />
        <Button variant="contained" onClick={() => void kit.importKit(path)} disabled={!path.trim() || kit.import.status === 'running'}>
          Import
        </Button>
        {kit.import.status === 'running' && (
          <Button color="warning" onClick={() => void kit.cancel('import')}>
            Cancel
          </Button>
        )}
      </Box>
      {kit.import.status === 'running' && <Progress progress={kit.import.progress} label="Importing the kit" />}
      {kit.import.status === 'failed' && kit.import.error && <ErrorAlert error={kit.import.error} title="The kit could not be imported" />}
      {kit.import.status === 'done' && r && (
        <Alert severity="success" role="status" sx={{ my: 1 }}>
          <AlertTitle>Kit imported</AlertTitle>
          {r.packages} packages and {r.indexes} indexes verified and added
          {r.checksumVerified ? '; the file matched its checksum' : ' (no checksum file was next to it; every package was verified by its signature)'}.
          <Box component="ul" aria-label="What this computer can build offline" sx={{ pl: 2, mb: 0 }}>
            {r.canBuild.map((c) => (
              <li key={c.label}>
                {c.buildable ? `Can build ${c.label} offline. ` : `Cannot build ${c.label}: ${c.missing.slice(0, 3).join(', ')}. `}
                {c.buildable && (
                  <Button size="small" onClick={() => build(c.choice)}>
                    Choose {c.label}
                  </Button>
                )}
              </li>
            ))}
          </Box>
        </Alert>
      )}
    </Box>
  );
}

/** The kit on the rescue stick too: a NEXUS-KIT partition added to a copy of the image just built. */
function KitOnStickSection({ kitFile }: { kitFile: string }) {
  const built = useBuildStore((s) => (s.status === 'done' ? s.result : null));
  const attach = useKitStore((s) => s.attach);
  const attachToBuild = useKitStore((s) => s.attachToBuild);
  if (!built) return null;
  return (
    <Box component="section" aria-labelledby="kit-stick-title">
      <Divider sx={{ my: 2 }} />
      <Typography variant="h6" component="h3" id="kit-stick-title">
        Carry the kit on the rescue stick
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        Adds a partition named NEXUS-KIT (FAT32, readable on any computer) holding this kit to a copy of the image just built (
        {built.image.replace(/^.*\//, '')}), so the stick carries what it takes to make it again without network. The next steps then write that copy.
      </Typography>
      {attach.status !== 'done' && (
        <Button variant="outlined" onClick={() => void attachToBuild(kitFile)} disabled={attach.status === 'running'}>
          {attach.status === 'running' ? 'Adding the kit…' : 'Put the kit on the stick too'}
        </Button>
      )}
      {attach.status === 'failed' && attach.error && <ErrorAlert error={attach.error} title="The kit could not be added to the image" />}
      {attach.status === 'done' && attach.result && (
        <Alert severity="success" role="status" sx={{ my: 1 }}>
          <AlertTitle>The stick image carries the kit</AlertTitle>
          <span style={{ wordBreak: 'break-all' }}>{attach.result.image}</span>: {cardFitText(attach.result.size)}
        </Alert>
      )}
    </Box>
  );
}

/** The kit in hand: the one imported here, else the one prepared here. */
function KitFileOnStick() {
  const file = useKitStore((s) => s.import.result?.file ?? s.prepare.result?.file ?? null);
  return file ? <KitOnStickSection kitFile={file} /> : null;
}

/** "Offline kit": prepare one on a connected computer, import it on an offline one. */
export function OfflineKitDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} maxWidth="md" fullWidth aria-labelledby="offline-kit-title">
      <DialogTitle id="offline-kit-title">Offline kit</DialogTitle>
      <DialogContent>
        <PrepareSection />
        <Divider sx={{ my: 2 }} />
        <ImportSection onClose={onClose} />
        <KitFileOnStick />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}
