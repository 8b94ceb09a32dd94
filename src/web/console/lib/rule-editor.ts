// The create/edit dialog of a list of rules (关怀规则, 挽回活动): which rule the form edits, opening it, and putting the
// saved rule back into the list the page shows, without reading the list again.
import { ref, type Ref } from 'vue';

export interface RuleEditor<T> {
  /** Whether the form is open (its v-model). */
  formOpen: Ref<boolean>;
  /** The rule being edited, or null for a new one (the form's `rule`). */
  editing: Ref<T | null>;
  openCreate(): void;
  openEdit(rule: T): void;
  /** The form's `saved`: replaces the rule in `list`, or adds a new one (first or last, as `at` says). */
  onSaved(saved: T): void;
}

export function useRuleEditor<T extends { id: string }>(list: Ref<T[]>, options: { at: 'start' | 'end'; afterSave?: (saved: T) => void }): RuleEditor<T> {
  const formOpen = ref(false);
  const editing = ref<T | null>(null) as Ref<T | null>;
  return {
    formOpen,
    editing,
    openCreate() {
      editing.value = null;
      formOpen.value = true;
    },
    openEdit(rule) {
      editing.value = rule;
      formOpen.value = true;
    },
    onSaved(saved) {
      const exists = list.value.some((x) => x.id === saved.id);
      if (exists) list.value = list.value.map((x) => (x.id === saved.id ? saved : x));
      else list.value = options.at === 'start' ? [saved, ...list.value] : [...list.value, saved];
      options.afterSave?.(saved);
    },
  };
}
