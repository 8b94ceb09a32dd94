import { onMounted, ref, watch, type Ref, type WatchSource } from 'vue';
import { errorText } from './ui';

/**
 * Loads `fetch()` into `data` when the component mounts and whenever one of `sources` changes. An answer that comes
 * back after a newer request was made is dropped, so switching the range quickly never leaves the older range's
 * figures (or its error) on screen.
 */
export function useLatestLoad<T>(fetch: () => Promise<T>, sources: WatchSource[]): { data: Ref<T | null>; loading: Ref<boolean>; error: Ref<string> } {
  const data = ref(null) as Ref<T | null>;
  const loading = ref(false);
  const error = ref('');
  let seq = 0;
  async function load() {
    const mine = ++seq;
    loading.value = true;
    error.value = '';
    try {
      const answer = await fetch();
      if (mine === seq) data.value = answer;
    } catch (e) {
      if (mine === seq) error.value = errorText(e);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }
  watch(sources, load);
  onMounted(load);
  return { data, loading, error };
}
