/** The body of every error answer. */
export interface ErrorResponse {
  error: string;
}
