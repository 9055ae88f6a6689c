import { Box, Button, Card, CardActionArea, CardContent, Chip, Stack, TextField, Typography } from '@mui/material';
import type { BoxView } from '../../../src-shared/contract';
import { useCatalogStore } from '../../stores/catalog-store';
import { useSelectionStore } from '../../stores/selection-store';
import { useWizardStore } from '../../stores/wizard-store';
import { ErrorAlert } from '../ErrorAlert';
import { StepHeading } from '../StepHeading';
import { StepNav } from '../StepNav';

function sizeText(b: BoxView): string {
  const s = b.budgets.sizeMiB;
  const size = s ? (s.min !== undefined && s.max !== undefined ? `${s.min}–${s.max} MiB` : s.max !== undefined ? `≤ ${s.max} MiB` : `≥ ${s.min} MiB`) : 'size set by upstream';
  const p = b.budgets.packages;
  const pk = p.max !== undefined ? `≤ ${p.max} packages` : p.min !== undefined ? `≥ ${p.min} packages` : '';
  return [size, pk].filter(Boolean).join(', ');
}

function BoxCard({ box, selected, onSelect }: { box: BoxView; selected: boolean; onSelect: () => void }) {
  const descId = `box-desc-${box.name}`;
  return (
    <Card variant="outlined" sx={{ borderColor: selected ? 'primary.main' : undefined, borderWidth: selected ? 2 : 1 }}>
      <CardActionArea onClick={onSelect} aria-pressed={selected} aria-label={`${box.name}: ${box.nickname}`} aria-describedby={descId} sx={{ height: '100%', display: 'flex', flexDirection: 'column', alignItems: 'stretch', justifyContent: 'flex-start' }}>
        <CardContent>
          <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1 }}>
            <Typography variant="h6" component="h3">{box.name}</Typography>
            <Chip size="small" label={box.tier} />
          </Stack>
          <Typography variant="subtitle2" color="text.secondary">{box.nickname} — {box.philosophy}</Typography>
          <Typography id={descId} variant="body2" sx={{ my: 1 }}>{box.description}</Typography>
          {box.packages.length > 0 && <Typography variant="body2"><strong>Inside:</strong> {box.packages.slice(0, 8).join(', ')}{box.packages.length > 8 ? ', …' : ''}</Typography>}
          <Typography variant="body2"><strong>Budget:</strong> {sizeText(box)}</Typography>
          <Stack direction="row" spacing={0.5} sx={{ mt: 1 }} aria-label="Architectures">
            {box.architectures.map((a) => <Chip key={a} size="small" variant="outlined" label={a} />)}
          </Stack>
        </CardContent>
      </CardActionArea>
    </Card>
  );
}

function ExistingImageCard() {
  const { imagePath, imageUrl, imageSha256, imageError, setImageField, useExistingImage, pickImageFile } = useSelectionStore();
  const desktop = useCatalogStore((s) => s.system?.transport === 'electron');
  const next = useWizardStore((s) => s.next);
  const submit = async () => {
    if (await useExistingImage()) next('image');
  };
  return (
    <Card variant="outlined" component="section" aria-labelledby="existing-title">
      <CardContent>
        <Typography id="existing-title" variant="h6" component="h3">Write an existing image</Typography>
        <Typography variant="body2" sx={{ mb: 2 }}>Already have an image (.img, .iso, .xz, .gz, .zst, .zip)? Write it without building.</Typography>
        <Stack spacing={2}>
          <Stack direction="row" spacing={1}>
            <TextField label="Image file" helperText="Path on the computer running Nexus Imager" value={imagePath} onChange={(e) => setImageField('imagePath', e.target.value)} size="small" sx={{ flex: 1 }} />
            {desktop && <Box><Button variant="outlined" onClick={pickImageFile}>Choose a file…</Button></Box>}
          </Stack>
          <TextField label="Or image URL" value={imageUrl} onChange={(e) => setImageField('imageUrl', e.target.value)} size="small" />
          {imageUrl && <TextField label="SHA-256 of the download" value={imageSha256} onChange={(e) => setImageField('imageSha256', e.target.value)} size="small" />}
          {imageError && <ErrorAlert error={imageError} title="This image cannot be used" />}
          <Box><Button variant="outlined" onClick={submit} disabled={!imagePath.trim() && !imageUrl.trim()}>Use this image</Button></Box>
        </Stack>
      </CardContent>
    </Card>
  );
}

export function BoxStep() {
  const catalog = useCatalogStore((s) => s.catalog);
  const error = useCatalogStore((s) => s.error);
  const selected = useSelectionStore((s) => s.box);
  const mode = useSelectionStore((s) => s.mode);
  const chooseBox = useSelectionStore((s) => s.chooseBox);
  const next = useWizardStore((s) => s.next);
  return (
    <section aria-labelledby="step-box">
      <StepHeading>Choose a Box</StepHeading>
      {error && <ErrorAlert error={error} title="The catalog could not be loaded" />}
      <Box role="group" aria-label="Boxes" sx={{ display: 'grid', gap: 2, gridTemplateColumns: 'repeat(auto-fill, minmax(280px, 1fr))' }}>
        {catalog?.boxes.map((b) => <BoxCard key={b.name} box={b} selected={mode === 'build' && selected === b.name} onSelect={() => chooseBox(b.name)} />)}
      </Box>
      <Box sx={{ mt: 3 }}><ExistingImageCard /></Box>
      <StepNav onNext={() => next('build')} nextDisabled={!selected} nextLabel="Next: architecture and board" />
    </section>
  );
}
