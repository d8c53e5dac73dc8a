/** Where the Roomcast server is: VITE_ROOMCAST_URL at build time (its HTTP URL; the WebSocket is the same path). */
export const httpUrl: string = import.meta.env.VITE_ROOMCAST_URL || 'http://localhost:4000/graphql';
export const wsUrl: string = httpUrl.replace(/^http/, 'ws');

const params = new URLSearchParams(location.search);
/** The room the ticker script publishes to (`?room=`). */
export const room: string = params.get('room') ?? 'ticker';
/** How often the page takes a tick at most (`?throttleMs=`, 10-60000). */
export const throttleMs: number = Number(params.get('throttleMs') ?? 200);
