/** Orders strings by UTF-16 code units, so that the order does not depend on the locale. */
export function compareCodeUnits(left: string, right: string): number {
  if (left < right) return -1;
  return left > right ? 1 : 0;
}
