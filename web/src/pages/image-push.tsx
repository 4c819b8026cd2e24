import { request, useMutation } from '../api';
import { PushImageMutation } from '../operations';
import { BusyButton, ErrorMessage } from '../ui';

/** "Push": sends the image to the registry its name points at; `onStarted` gets the job id. */
export function PushImageButton({
  nodeId,
  image,
  onStarted,
}: {
  nodeId: string;
  image: string;
  onStarted: (jobId: string) => void;
}) {
  const push = useMutation(() => request(PushImageMutation, { nodeId, image }));
  return (
    <>
      <BusyButton
        className="small"
        busy={push.busy}
        busyText="Starting…"
        aria-label={`push image ${image}`}
        title="Push to the registry its name points at"
        onClick={async () => {
          const r = await push.run();
          if (r) onStarted(r.pushImage.id);
        }}
      >
        Push
      </BusyButton>
      <ErrorMessage error={push.error} />
    </>
  );
}
