/** Credentials of a seeded user: user1 … user1000, all with the password "secret". */
export interface LoginRequest {
  /**
   * A seeded user name.
   * @pattern ^user([1-9][0-9]{0,2}|1000)$
   * @example "user42"
   */
  username: string;
  /**
   * The user's password.
   * @example "secret"
   */
  password: string;
}

/** A bearer token for the other routes. */
export interface LoginResponse {
  /** A JWT signed with HS256. */
  token: string;
  token_type: 'Bearer';
  /** Seconds until the token expires. */
  expires_in: number;
}

/** The claims of a login token. */
export interface TokenClaims {
  /** The user name. */
  sub: string;
  /** The numeric user ID. */
  uid: number;
}
