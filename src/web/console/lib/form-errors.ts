// The server's 400 messages next to the fields they are about. The API names each refused body field in
// `details.fields` (README §HTTP); a form binds `<el-form-item :error="fe.of('name')">` and hands a failed
// request's error to `take`. Whatever the form cannot place next to one of its fields still needs a toast, so `take`
// says whether it placed everything.
import { reactive } from 'vue';
import { ApiError } from './api';

export interface FieldErrors {
  /** The server's message for a form field, or '' (Element Plus shows a form item's `error` when it is non-empty). */
  of(field: string): string;
  /**
   * Shows a failed request's field messages next to the form's fields. True when the error was placed in full (a 400
   * whose every field is one of this form's); false when the caller should also show it (`toastError`).
   */
  take(err: unknown): boolean;
  clear(): void;
}

/**
 * `fields` are the form's field names. A server path maps to the form field named in `aliases` (e.g. `welcome.text`
 * → `welcomeText`), or else to its first segment (`staff.0` → `staff`).
 */
export function useFieldErrors(fields: readonly string[], aliases: Readonly<Record<string, string>> = {}): FieldErrors {
  const errors = reactive<Record<string, string>>({});
  const clear = () => {
    for (const k of Object.keys(errors)) delete errors[k];
  };
  return {
    of: (field) => errors[field] ?? '',
    clear,
    take(err) {
      clear();
      if (!(err instanceof ApiError)) return false;
      const paths = Object.entries(err.fields);
      let placedAll = paths.length > 0;
      for (const [path, message] of paths) {
        const field = aliases[path] ?? path.split('.')[0];
        if (!fields.includes(field)) {
          placedAll = false;
          continue;
        }
        if (!errors[field]) errors[field] = message;
      }
      return placedAll;
    },
  };
}
