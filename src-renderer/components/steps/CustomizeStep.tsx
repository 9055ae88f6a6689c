import { Alert, Box, Button, Checkbox, FormControlLabel, FormGroup, FormLabel, MenuItem, Stack, TextField, Typography } from '@mui/material';
import { useEffect, type ChangeEvent } from 'react';
import { ChoiceField } from '../ChoiceField';
import { KEYBOARD_LAYOUTS, LOCALES, countryChoices, fixCountry, timeZoneChoices } from '../../../src-shared/locales';
import { selectBox, useCatalogStore } from '../../stores/catalog-store';
import { selectIsValid, useCustomizeStore } from '../../stores/customize-store';
import type { CustomizeFields } from '../../stores/customize-validation';
import { useSelectionStore } from '../../stores/selection-store';
import { rememberChoices } from '../../stores/sync';
import { useWizardStore } from '../../stores/wizard-store';
import { StepHeading } from '../StepHeading';
import { StepNav } from '../StepNav';

type TextKey = Exclude<keyof CustomizeFields, 'admin'>;
const FIXABLE = new Set<TextKey>(['userName', 'hostname']);

const TIME_ZONES = timeZoneChoices();
const COUNTRIES = countryChoices();

function Field({ name, label, type, help, multiline }: { name: TextKey; label: string; type?: string; help?: string; multiline?: boolean }) {
  const value = useCustomizeStore((s) => s.fields[name]);
  const error = useCustomizeStore((s) => s.errors[name]);
  const note = useCustomizeStore((s) => s.notes[name]);
  const setField = useCustomizeStore((s) => s.setField);
  const fixField = useCustomizeStore((s) => s.fixField);
  return (
    <TextField
      id={`field-${name}`}
      label={label}
      type={type}
      value={value}
      onChange={(e) => setField(name, e.target.value)}
      onBlur={FIXABLE.has(name) ? () => fixField(name as 'userName' | 'hostname') : undefined}
      error={!!error}
      helperText={error ?? note ?? help ?? ' '}
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
  const {
    fields,
    fragments: chosen,
    setField,
    toggleFragment,
    branch,
    setBranch,
    enableNeededFragments,
    reenter,
    giveUpSecret,
    notes,
    errors,
  } = useCustomizeStore();
  const feed = useCatalogStore((s) => s.catalog?.feed ?? null);
  const valid = useCustomizeStore(selectIsValid);
  const { next, back } = useWizardStore();
  const defaults = box?.defaultFragments ?? [];
  const active = chosen ?? defaults;
  // An SSH key or a Wi-Fi network turns on the add-on it needs, with a note; unticking it afterwards is respected.
  const fragmentNames = fragments.map((f) => f.name).join(',');
  useEffect(() => {
    enableNeededFragments(defaults, fragmentNames.split(','));
  }, [fields.sshKeys, fields.wifiSsid, defaults, fragmentNames, enableNeededFragments]);

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
          <Typography component="legend" variant="subtitle1" sx={{ mb: 1 }}>
            System
          </Typography>
          <Stack spacing={1.5}>
            <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
              <Field name="hostname" label="Host name" help='e.g. "nexus-pi"' />
              <ChoiceField
                id="field-timezone"
                label="Time zone"
                choices={TIME_ZONES}
                value={fields.timezone}
                onChange={(v) => setField('timezone', v)}
                error={errors.timezone}
                help="Prefilled from this computer"
              />
            </Stack>
            <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
              <ChoiceField
                id="field-keyboard"
                label="Keyboard layout"
                choices={KEYBOARD_LAYOUTS}
                value={fields.keyboard}
                onChange={(v) => setField('keyboard', v)}
                error={errors.keyboard}
                help="For the console and the desktop"
              />
              <ChoiceField
                id="field-locale"
                label="Language and formats"
                choices={LOCALES}
                value={fields.locale}
                onChange={(v) => setField('locale', v)}
                error={errors.locale}
                help="The locale (LANG)"
              />
            </Stack>
          </Stack>
        </Box>
        <Box component="fieldset" sx={{ border: 0, p: 0, m: 0 }}>
          <Typography component="legend" variant="subtitle1" sx={{ mb: 1 }}>
            User
          </Typography>
          <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
            <Field name="userName" label="User name" help="Leave empty for no user account" />
            <Field name="password" label="Password" type="password" help="Hashed before it is stored; never remembered" />
            <Field name="passwordConfirm" label="Repeat password" type="password" />
          </Stack>
          {reenter.password && !fields.password && (
            <Alert
              severity="warning"
              role="alert"
              action={
                <Button color="inherit" size="small" onClick={() => giveUpSecret('password')}>
                  No password
                </Button>
              }
              sx={{ mb: 1 }}
            >
              You set a password for {fields.userName} before the page was reloaded. Passwords are never stored: enter it again, or choose "No password" (then
              log in with an SSH key).
            </Alert>
          )}
          <FormControlLabel
            control={<Checkbox checked={fields.admin} onChange={(e) => setField('admin', e.target.checked)} />}
            label="Administrator (may use doas/sudo)"
          />
        </Box>
        <Box component="fieldset" sx={{ border: 0, p: 0, m: 0 }}>
          <Typography component="legend" variant="subtitle1" sx={{ mb: 1 }}>
            SSH
          </Typography>
          <Field name="sshKeys" label="SSH public keys" multiline help="Paste one public key per line (the .pub file, never the private key)" />
          <Button component="label" variant="outlined" size="small">
            Load a public key file…
            <input hidden type="file" accept=".pub,text/plain" aria-label="SSH public key file" onChange={loadKeyFile} />
          </Button>
        </Box>
        <Box component="fieldset" sx={{ border: 0, p: 0, m: 0 }}>
          <Typography component="legend" variant="subtitle1" sx={{ mb: 1 }}>
            Wi-Fi
          </Typography>
          <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
            <Field name="wifiSsid" label="Wi-Fi network (SSID)" help={notes.wifiSsid ? undefined : 'Leave empty for no Wi-Fi'} />
            <Field
              name="wifiPassphrase"
              label="Wi-Fi passphrase"
              type="password"
              help={fields.wifiSsid && !fields.wifiPassphrase ? 'Empty: an open network' : 'Never remembered'}
            />
            <ChoiceField
              id="field-wifiCountry"
              label="Wi-Fi country"
              choices={COUNTRIES}
              value={fields.wifiCountry}
              onChange={(v) => setField('wifiCountry', v)}
              error={errors.wifiCountry}
              help={notes.wifiCountry ?? 'Where the device is used'}
              aliases={(typed) => fixCountry(typed)}
              onAlias={(note) => useCustomizeStore.setState((s) => ({ notes: { ...s.notes, wifiCountry: note } }))}
            />
          </Stack>
          {reenter.wifiPassphrase && !fields.wifiPassphrase && (
            <Alert
              severity="warning"
              role="alert"
              action={
                <Button color="inherit" size="small" onClick={() => giveUpSecret('wifiPassphrase')}>
                  Open network
                </Button>
              }
            >
              You entered a passphrase for "{fields.wifiSsid}" before the page was reloaded. It is never stored: enter it again, or choose "Open network" if it
              has none.
            </Alert>
          )}
        </Box>
        <FormGroup aria-labelledby="fragments-label">
          <FormLabel id="fragments-label">Add-ons</FormLabel>
          {fragments.map((f) => (
            <FormControlLabel
              key={f.name}
              control={<Checkbox checked={active.includes(f.name)} onChange={() => toggleFragment(f.name, defaults)} />}
              label={`${f.name} — ${f.description}`}
            />
          ))}
        </FormGroup>
        {feed && box?.recipe === 'compose' && (
          <TextField
            select
            label="Alpine Linux release"
            value={branch ?? feed.branch}
            sx={{ maxWidth: 320 }}
            onChange={(e) => setBranch(e.target.value === feed.branch ? null : e.target.value)}
            helperText="The packages come from this Alpine release. Keep the current stable one unless you need another."
          >
            {feed.branches.map((b) => (
              <MenuItem key={b} value={b}>
                {b === feed.branch ? `${b} (current stable)` : b === 'edge' ? 'edge (development, changes daily)' : b}
              </MenuItem>
            ))}
          </TextField>
        )}
      </Stack>
      <StepNav onBack={() => back('build')} onNext={goNext} nextDisabled={!valid} nextLabel="Next: build" />
    </section>
  );
}
