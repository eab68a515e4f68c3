export {
  createHostBackend,
  HOST_WORKLOAD_REASON,
  type HostBackendOptions,
  hostBackend,
  hostFunction,
  MAX_CALLS_PER_SAMPLE,
  MIN_SAMPLE_SPAN_NS,
  MIN_SAMPLE_SPAN_TIMER_CALLS,
} from './host-backend.ts'
