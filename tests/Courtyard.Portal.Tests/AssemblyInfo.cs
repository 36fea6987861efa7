// Each test class starts a whole platform and several Chromium processes: on two shared cores they run one at a time,
// so that what a test measures (a live tally within seconds) is not the neighbouring test's load.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
