/**
 * Imported first by the benchmarks: the handlers' logger reads LOG_LEVEL when its module loads,
 * and per-batch INFO lines would cost more than some of the work being measured.
 */
process.env.LOG_LEVEL ??= "ERROR";
