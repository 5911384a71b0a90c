/** A POST's share of the instance's memory budget, held until it is answered (or its connection is gone). */
export interface Admission {
  /** Gives the share back; a second call does nothing. */
  release(): void;
}
