/** The only place that listens to contract events and feeds them to the stores; also loads and saves remembered settings. */
import type { NexusApi } from '../../src-shared/contract';
import { useAnswersStore } from './answers-store';
import { call, setApi } from './api';
import { useBuildStore } from './build-store';
import { useCatalogStore } from './catalog-store';
import { useCustomizeStore } from './customize-store';
import { useBackupStore } from './backup-store';
import { useFlashStore } from './flash-store';
import { useImageFetchStore, useImageSizeStore } from './image-size-store';
import { useVmStore } from './vm-store';
import { useWizardStore } from './wizard-store';
import { useSelectionStore } from './selection-store';

export async function connectStores(api: NexusApi): Promise<() => void> {
  setApi(api);
  const stops = [
    api['build.progress']((p) => useBuildStore.getState().onProgress(p)),
    api['build.log']((p) => useBuildStore.getState().onLog(p)),
    api['flash.progress']((p) => useFlashStore.getState().onProgress(p)),
    api['flash.stage']((p) => useFlashStore.getState().onStage(p)),
    api['flash.log']((p) => useFlashStore.getState().onLog(p)),
    api['flash.finished']((p) => useFlashStore.getState().onFinished(p)),
    api['image.progress']((p) => {
      useImageSizeStore.getState().onProgress(p);
      useImageFetchStore.getState().onProgress(p);
    }),
    api['vm.console']((p) => useVmStore.getState().onConsole(p)),
    api['backup.progress']((p) => useBackupStore.getState().onProgress(p)),
    api['answers.ready']((p) => useAnswersStore.getState().onReady(p)),
    api['answers.request']((p) => useAnswersStore.getState().onRequest(p)),
  ];
  const [, settings] = await Promise.all([useCatalogStore.getState().load(), call('settings.get', {}).catch(() => null)]);
  if (settings) {
    useSelectionStore.getState().restore(settings);
    useCustomizeStore.getState().restore(settings);
  }
  // A write started before this page was (re)loaded: show it instead of offering its drive again.
  if (await useFlashStore.getState().resume()) useWizardStore.getState().goTo('write');
  return () => stops.forEach((s) => s());
}

/** Remembers the choices (never passwords or Wi-Fi passphrases: the Settings schema has no field for them). */
export async function rememberChoices(): Promise<void> {
  const sel = useSelectionStore.getState();
  const cust = useCustomizeStore.getState();
  await call('settings.save', {
    ...(sel.box ? { box: sel.box } : {}),
    ...(sel.arch ? { arch: sel.arch } : {}),
    ...(sel.board ? { board: sel.board } : {}),
    ...(cust.fragments ? { fragments: cust.fragments } : {}),
    ...(cust.branch ? { branch: cust.branch } : {}),
    customization: cust.remembered(),
  }).catch(() => undefined);
}
