// One server-paged list (every list in the console pages on the server): its rows, total, page, loading state and
// error, loaded again when the page or page size changes.
import { ref, watch, type Ref } from 'vue';
import { get, type Page } from './api';
import { errorText } from './ui';

type Query = Record<string, string | number | undefined | null>;

/** `query` gives the filters at load time; `search()` goes back to page 1 after a filter changed. */
export function usePagedList<T>(path: string, query: () => Query = () => ({}), initialPageSize = 20) {
  const rows = ref([]) as Ref<T[]>;
  const total = ref(0);
  const page = ref(1);
  const pageSize = ref(initialPageSize);
  const loading = ref(false);
  const error = ref('');

  async function load(): Promise<void> {
    loading.value = true;
    error.value = '';
    try {
      const r = await get<Page<T>>(path, { ...query(), page: page.value, pageSize: pageSize.value });
      rows.value = r.items;
      total.value = r.total;
    } catch (e) {
      error.value = errorText(e);
    } finally {
      loading.value = false;
    }
  }

  function search(): void {
    page.value = 1;
    void load();
  }

  watch([page, pageSize], load);
  return { rows, total, page, pageSize, loading, error, load, search };
}
