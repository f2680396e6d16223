// Who called a function. Scheduled jobs and backend calls carry the service role's JWT;
// the platform verifies the signature first (verify_jwt = true, the default), so here
// only the verified token's role is read: a signed-in customer's valid JWT is refused.
import { decodeJwt } from 'jose';
import { HttpError } from './http.ts';

export function requireServiceRole(request: Request): void {
    const token = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    let role: unknown;
    try {
        role = token ? decodeJwt(token).role : undefined;
    } catch {
        role = undefined;
    }
    if (role !== 'service_role') throw new HttpError(403, 'forbidden', 'Only the service role (scheduled jobs, backend) may call this function');
}
