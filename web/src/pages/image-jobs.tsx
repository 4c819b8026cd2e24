import { useEffect, useRef, useState } from 'react';
import { useQuery, useSubscription } from '../api';
import type { ImageJobQuery as JobData, ImageJobStatus } from '../gql/graphql';
import { ImageJobProgressSubscription, ImageJobQuery, ImageJobsQuery } from '../operations';
import { ErrorMessage, LiveIndicator, Spinner, formatTime } from '../ui';

type Job = NonNullable<JobData['imageJob']>;

const STATUS_CLASS: Record<ImageJobStatus, string> = {
  QUEUED: 'info',
  RUNNING: 'warn',
  SUCCEEDED: 'ok',
  FAILED: 'bad',
};

export function JobStatus({ status }: { status: ImageJobStatus }) {
  return <span className={`badge ${STATUS_CLASS[status]}`}>{status}</span>;
}

/**
 * One image job's log: the stored one, then every line as imageJobProgress streams it while the job
 * runs. `onEnded` is called once the job has succeeded or failed.
 */
export function JobLog({ jobId, onEnded }: { jobId: string; onEnded?: (job: Job) => void }) {
  const stored = useQuery(ImageJobQuery, { id: jobId });
  const [live, setLive] = useState<{ job: Job; progress: number | null } | undefined>();
  const liveError = useSubscription(ImageJobProgressSubscription, { jobId }, (d) =>
    setLive({ job: d.imageJobProgress.job, progress: d.imageJobProgress.progress ?? null }),
  );
  useEffect(() => setLive(undefined), [jobId]);
  const job = live?.job.id === jobId ? live.job : (stored.data?.imageJob ?? undefined);
  const ended = job?.status === 'SUCCEEDED' || job?.status === 'FAILED';
  const reported = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (job && ended && reported.current !== job.id) {
      reported.current = job.id;
      onEnded?.(job);
    }
  }, [job, ended, onEnded]);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    pre.current?.scrollTo({ top: pre.current.scrollHeight });
  }, [job?.log.length]);
  if (!job)
    return stored.error ? <ErrorMessage error={stored.error} /> : <Spinner label="Loading the job…" />;
  return (
    <div className="stack" aria-label={`Job ${job.kind.toLowerCase()} ${job.image ?? ''}`} role="region">
      <div className="progress-line">
        <strong>
          {job.kind} {job.image ?? ''}
        </strong>
        <JobStatus status={job.status} />
        {!ended ? <LiveIndicator error={liveError} /> : null}
        {!ended && live?.progress != null ? (
          <progress aria-label="Job progress" max={1} value={live.progress} />
        ) : null}
        {job.finishedAt ? <span className="muted">ended {formatTime(job.finishedAt)}</span> : null}
      </div>
      {job.error ? (
        <p className="error" role="alert">
          {job.error}
        </p>
      ) : null}
      <pre className="logs" ref={pre} aria-label="Job log">
        {job.log.length ? job.log.join('\n') : 'No output yet…'}
      </pre>
    </div>
  );
}

/** The node's image jobs, newest first; a row's "Log" opens its stored log. */
export function JobHistory({
  nodeId,
  refreshKey,
  onOpen,
}: {
  nodeId: string;
  /** Changes when a job starts or ends, to reload the list. */
  refreshKey: string;
  onOpen: (jobId: string) => void;
}) {
  const { data, error, refetch } = useQuery(ImageJobsQuery, { nodeId, first: 20 });
  useEffect(refetch, [refreshKey, refetch]);
  return (
    <div className="card table-wrap">
      <h2>Image jobs</h2>
      <ErrorMessage error={error} />
      {data?.imageJobs.length === 0 ? <p className="muted">No image jobs on this node yet.</p> : null}
      {data?.imageJobs.length ? (
        <table className="list" aria-label="Image jobs">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Image</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Log</th>
            </tr>
          </thead>
          <tbody>
            {data.imageJobs.map((j) => (
              <tr key={j.id} data-job={j.id}>
                <th scope="row">{j.kind}</th>
                <td>
                  <code>{j.image ?? '–'}</code>
                </td>
                <td>
                  <JobStatus status={j.status} />
                  {j.error ? <span className="muted"> {j.error}</span> : null}
                </td>
                <td>{formatTime(j.createdAt)}</td>
                <td>
                  <button
                    type="button"
                    className="small"
                    aria-label={`log of ${j.kind.toLowerCase()} ${j.image ?? j.id}`}
                    onClick={() => onOpen(j.id)}
                  >
                    Log
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
