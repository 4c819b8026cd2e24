/** The signed-in user. */
export interface Viewer {
  id: string;
  username: string;
  admin: boolean;
}
