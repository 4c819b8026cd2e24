import { Field, Float, ID, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

export enum ImageJobKind {
  BUILD = 'BUILD',
  LOAD = 'LOAD',
  COMMIT = 'COMMIT',
  PUSH = 'PUSH',
  PULL = 'PULL',
}
registerEnumType(ImageJobKind, {
  name: 'ImageJobKind',
  description: 'What an image job does.',
  valuesConfig: {
    BUILD: { description: 'Builds an uploaded Dockerfile tarball.' },
    LOAD: { description: 'Loads an uploaded `docker save` tar.' },
    COMMIT: { description: "Snapshots a container's filesystem as an image." },
    PUSH: { description: 'Pushes an image to the registry its name points at.' },
    PULL: { description: 'Pulls an image.' },
  },
});

export enum ImageJobStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
registerEnumType(ImageJobStatus, {
  name: 'ImageJobStatus',
  description: 'Where an image job is.',
  valuesConfig: {
    QUEUED: { description: 'Not started yet.' },
    RUNNING: { description: 'Running on its node.' },
    SUCCEEDED: { description: 'Done; `image` is what it made.' },
    FAILED: { description: "Failed; `error` has Docker's words." },
  },
});

@ObjectType({ description: 'A build, load, commit, push or pull on a node, with its log.' })
export class ImageJob {
  @Field(() => ID, { description: 'The job id.' })
  id!: string;

  @Field(() => ImageJobKind, { description: 'What it does.' })
  kind!: ImageJobKind;

  @Field(() => ImageJobStatus, { description: 'Where it is.' })
  status!: ImageJobStatus;

  @Field(() => ID, { description: 'The node it runs on.' })
  nodeId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The image it makes, pushes or pulls (a load: the first image loaded).',
  })
  image!: string | null;

  @Field(() => [String], { description: "Docker's output, line by line." })
  log!: string[];

  @Field(() => String, { nullable: true, description: "Why it failed, in Docker's words." })
  error!: string | null;

  @Field(() => DateTimeScalar, { description: 'When it was started.' })
  createdAt!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it ended.' })
  finishedAt!: string | null;
}

@ObjectType({ description: 'An event of a running image job: a new log line or progress.' })
export class ImageJobEvent {
  @Field(() => ImageJob, { description: 'The job as it stands (with its log so far).' })
  job!: ImageJob;

  @Field(() => String, { nullable: true, description: 'The log line this event adds.' })
  line!: string | null;

  @Field(() => Float, { nullable: true, description: 'Progress from 0 to 1, when it changed.' })
  progress!: number | null;
}
