import { Box, Button, Checkbox, FormControlLabel, FormGroup, FormLabel, MenuItem, Stack, TextField, Typography } from '@mui/material';
import type { ChangeEvent } from 'react';
import { selectBox, useCatalogStore } from '../../stores/catalog-store';
import { selectIsValid, useCustomizeStore } from '../../stores/customize-store';
import type { CustomizeFields } from '../../stores/customize-validation';
import { useSelectionStore } from '../../stores/selection-store';
import { rememberChoices } from '../../stores/sync';
import { useWizardStore } from '../../stores/wizard-store';
import { StepHeading } from '../StepHeading';
import { StepNav } from '../StepNav';

type TextKey = Exclude<keyof CustomizeFields, 'admin'>;

function Field({ name, label, type, help, multiline }: { name: TextKey; label: string; type?: string; help?: string; multiline?: boolean }) {
  const value = useCustomizeStore((s) => s.fields[name]);
  const error = useCustomizeStore((s) => s.errors[name]);
  const setField = useCustomizeStore((s) => s.setField);
  return (
    <TextField
      id={`field-${name}`}
      label={label}
      type={type}
      value={value}
      onChange={(e) => setField(name, e.target.value)}
      error={!!error}
      helperText={error ?? help ?? ' '}
      size="small"
      fullWidth
      multiline={multiline}
      minRows={multiline ? 2 : undefined}
      autoComplete={type === 'password' ? 'new-password' : 'off'}
      slotProps={{ htmlInput: { 'aria-invalid': !!error, spellCheck: false } }}
    />
  );
}

export function CustomizeStep() {
  const box = useCatalogStore(selectBox(useSelectionStore((s) => s.box)));
  const fragments = useCatalogStore((s) => s.catalog?.fragments ?? []);
  const { fields, fragments: chosen, setField, toggleFragment, branch, setBranch } = useCustomizeStore();
  const feed = useCatalogStore((s) => s.catalog?.feed ?? null);
  const valid = useCustomizeStore(selectIsValid);
  const { next, back } = useWizardStore();
  const defaults = box?.defaultFragments ?? [];
  const active = chosen ?? defaults;

  const loadKeyFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    const text = (await file.text()).trim();
    setField('sshKeys', [fields.sshKeys.trim(), text].filter(Boolean).join('\n'));
    e.target.value = '';
  };

  const goNext = async () => {
    await rememberChoices();
    next('build');
  };

  return (
    <section>
      <StepHeading>Customize</StepHeading>
      <Stack spacing={3} sx={{ maxWidth: 720 }}>
        <Box component="fieldset" sx={{ border: 0, p: 0, m: 0 }}>
          <Typography component="legend" variant="subtitle1" sx={{ mb: 1 }}>System</Typography>
          <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
            <Field name="hostname" label="Host name" help='e.g. "nexus-pi"' />
            <Field name="timezone" label="Time zone" help='e.g. "Europe/Berlin"' />
            <Field name="keyboard" label="Keyboard layout" help='e.g. "us", "de"' />
            <Field name="locale" label="Locale" help='e.g. "en_US.UTF-8"' />
          </Stack>
        </Box>
        <Box component="fieldset" sx={{ border: 0, p: 0, m: 0 }}>
          <Typography component="legend" variant="subtitle1" sx={{ mb: 1 }}>User</Typography>
          <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
            <Field name="userName" label="User name" help="Leave empty for no user account" />
            <Field name="password" label="Password" type="password" help="Hashed before it is stored; never remembered" />
            <Field name="passwordConfirm" label="Repeat password" type="password" />
          </Stack>
          <FormControlLabel control={<Checkbox checked={fields.admin} onChange={(e) => setField('admin', e.target.checked)} />} label="Administrator (may use doas/sudo)" />
        </Box>
        <Box component="fieldset" sx={{ border: 0, p: 0, m: 0 }}>
          <Typography component="legend" variant="subtitle1" sx={{ mb: 1 }}>SSH</Typography>
          <Field name="sshKeys" label="SSH public keys" multiline help="Paste one public key per line (the .pub file, never the private key)" />
          <Button component="label" variant="outlined" size="small">
            Load a public key file…
            <input hidden type="file" accept=".pub,text/plain" aria-label="SSH public key file" onChange={loadKeyFile} />
          </Button>
        </Box>
        <Box component="fieldset" sx={{ border: 0, p: 0, m: 0 }}>
          <Typography component="legend" variant="subtitle1" sx={{ mb: 1 }}>Wi-Fi</Typography>
          <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
            <Field name="wifiSsid" label="Wi-Fi network (SSID)" />
            <Field name="wifiPassphrase" label="Wi-Fi passphrase" type="password" help="Never remembered" />
            <Field name="wifiCountry" label="Wi-Fi country" help='e.g. "DE", "US"' />
          </Stack>
        </Box>
        <FormGroup aria-labelledby="fragments-label">
          <FormLabel id="fragments-label">Fragments (add-ons)</FormLabel>
          {fragments.map((f) => (
            <FormControlLabel key={f.name} control={<Checkbox checked={active.includes(f.name)} onChange={() => toggleFragment(f.name, defaults)} />} label={`${f.name} — ${f.description}`} />
          ))}
        </FormGroup>
        {feed && box?.recipe === 'compose' && (
          <TextField
            select label="Alpine Linux release" value={branch ?? feed.branch} sx={{ maxWidth: 320 }}
            onChange={(e) => setBranch(e.target.value === feed.branch ? null : e.target.value)}
            helperText="The packages come from this Alpine release. Keep the current stable one unless you need another."
          >
            {feed.branches.map((b) => (
              <MenuItem key={b} value={b}>{b === feed.branch ? `${b} (current stable)` : b === 'edge' ? 'edge (development, changes daily)' : b}</MenuItem>
            ))}
          </TextField>
        )}
      </Stack>
      <StepNav onBack={() => back('build')} onNext={goNext} nextDisabled={!valid} nextLabel="Next: build" />
    </section>
  );
}
