/** Which step is shown. Steps are derived from the mode: writing an existing image skips board, customize and build. */
import { create } from 'zustand';
import type { Mode } from './selection-store';

export type StepId = 'box' | 'board' | 'customize' | 'build' | 'drive' | 'write';

export const STEP_TITLES: Record<StepId, string> = {
  box: 'Choose a Box',
  board: 'Architecture and board',
  customize: 'Customize',
  build: 'Build',
  drive: 'Choose the drive',
  write: 'Write and verify',
};

export function stepsFor(mode: Mode): StepId[] {
  return mode === 'image' ? ['box', 'drive', 'write'] : ['box', 'board', 'customize', 'build', 'drive', 'write'];
}

interface WizardState {
  step: StepId;
  goTo(step: StepId): void;
  next(mode: Mode): void;
  back(mode: Mode): void;
}

export const useWizardStore = create<WizardState>((set, get) => ({
  step: 'box',
  goTo(step) {
    set({ step });
  },
  next(mode) {
    const steps = stepsFor(mode);
    const i = steps.indexOf(get().step);
    if (i >= 0 && i < steps.length - 1) set({ step: steps[i + 1]! });
  },
  back(mode) {
    const steps = stepsFor(mode);
    const i = steps.indexOf(get().step);
    set({ step: i > 0 ? steps[i - 1]! : 'box' });
  },
}));
