import { Box, Button, Card, CardContent, Stack, TextField, Typography } from '@mui/material';
import { useCatalogStore } from '../../stores/catalog-store';
import { boxFitsBoard, useSelectionStore } from '../../stores/selection-store';
import { useWizardStore } from '../../stores/wizard-store';
import { BoxCard } from '../BoxCard';
import { RescueStickCard } from '../RescueStickCard';
import { DevicePicker } from '../DevicePicker';
import { ErrorAlert } from '../ErrorAlert';
import { ImageDropZone } from '../ImageDropZone';
import { StepHeading } from '../StepHeading';
import { StepNav } from '../StepNav';

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
        <Typography id="existing-title" variant="h6" component="h3">
          Write an existing image
        </Typography>
        <Typography variant="body2" sx={{ mb: 2 }}>
          Already have an image (.img, .iso, .xz, .gz, .zst, .zip)? Write it without building.
        </Typography>
        <Stack spacing={2}>
          <ImageDropZone
            onPath={(path) => {
              setImageField('imagePath', path);
              setImageField('imageUrl', '');
              void submit();
            }}
          />
          <Stack direction="row" spacing={1}>
            <TextField
              label="Image file"
              helperText="Path on the computer running Nexus Imager (~ is your home folder there)"
              value={imagePath}
              onChange={(e) => setImageField('imagePath', e.target.value)}
              size="small"
              sx={{ flex: 1 }}
            />
            {desktop && (
              <Box>
                <Button variant="outlined" onClick={pickImageFile}>
                  Choose a file…
                </Button>
              </Box>
            )}
          </Stack>
          <TextField label="Or image URL" value={imageUrl} onChange={(e) => setImageField('imageUrl', e.target.value)} size="small" />
          {imageUrl && (
            <TextField label="SHA-256 of the download" value={imageSha256} onChange={(e) => setImageField('imageSha256', e.target.value)} size="small" />
          )}
          {imageError && <ErrorAlert error={imageError} title="This image cannot be used" />}
          <Box>
            <Button variant="outlined" onClick={submit} disabled={!imagePath.trim() && !imageUrl.trim()}>
              Use this image
            </Button>
          </Box>
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
  const deviceName = useSelectionStore((s) => s.device);
  const chooseBox = useSelectionStore((s) => s.chooseBox);
  const { next, goTo } = useWizardStore();
  const device = catalog?.boards.find((b) => b.name === deviceName);
  // A device picked here already answers the board step.
  const goNext = () => (device ? goTo('customize') : next('build'));
  return (
    <section aria-labelledby="step-box">
      <StepHeading>Choose a Box</StepHeading>
      {error && <ErrorAlert error={error} title="The catalog could not be loaded" />}
      <DevicePicker />
      <Typography variant="h6" component="h3" id="boxes-title">
        Which system?
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        Each Box contains the one before it and adds more.
      </Typography>
      <Box role="group" aria-label="Boxes" sx={{ display: 'grid', gap: 2, gridTemplateColumns: 'repeat(auto-fill, minmax(280px, 1fr))' }}>
        {catalog?.boxes.map((b) => (
          <BoxCard
            key={b.name}
            box={b}
            selected={mode === 'build' && selected === b.name}
            unavailable={device && !boxFitsBoard(b, device) ? `Not available for the ${device.title}.` : null}
            onSelect={() => chooseBox(b.name)}
          />
        ))}
      </Box>
      <Box sx={{ mt: 3 }}>
        <RescueStickCard />
      </Box>
      <Box sx={{ mt: 3 }}>
        <ExistingImageCard />
      </Box>
      <StepNav onNext={goNext} nextDisabled={!selected} nextLabel={device ? 'Next: customize' : 'Next: architecture and board'} />
    </section>
  );
}
