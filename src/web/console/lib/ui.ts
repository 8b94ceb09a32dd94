// Messages and confirmations (Element Plus services, called from code, so their styles are imported here).
import { ElMessage, ElMessageBox } from 'element-plus';
import 'element-plus/es/components/message/style/css';
import 'element-plus/es/components/message-box/style/css';
import { ApiError } from './api';

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export function toastError(e: unknown): void {
  ElMessage({ type: 'error', message: errorText(e), showClose: true });
}

export function toastOk(message: string): void {
  ElMessage({ type: 'success', message });
}

/** Ask before a destructive action, saying what it will do; resolves false when the operator backs out. */
export async function confirmAction(message: string, title: string, confirmButtonText: string): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, { confirmButtonText, cancelButtonText: '取消', type: 'warning' });
    return true;
  } catch {
    return false;
  }
}
