/**
 * Priority classes of waiting requests. A freed slot goes to the highest class waiting; within a
 * class, tenants share by weight (queue/fair-queue.ts). Batch items always run as `low`, so they
 * use spare capacity and yield to live traffic.
 */
export type Priority = 'high' | 'normal' | 'low';

export const priorities: readonly Priority[] = ['high', 'normal', 'low'];
