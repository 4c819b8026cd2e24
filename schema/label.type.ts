import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A key/value label.' })
export class Label {
  @Field(() => String, { description: 'The label key.' })
  key!: string;

  @Field(() => String, { description: 'The label value.' })
  value!: string;
}

/** A record of labels as a list of Label, sorted by key. */
export const toLabels = (record: Record<string, string> | undefined): Label[] =>
  Object.entries(record ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
