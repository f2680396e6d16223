// A TCP proxy in front of the test cluster, for "the database is down" faults: a
// component given the proxy's URL loses its connections on `down()` (every socket is
// cut, new ones are refused) and gets them back on `up()`. The database itself keeps
// running, so other test files sharing the cluster see nothing.
import net from 'node:net';

export interface DbProxy {
    /** The database URL through the proxy. */
    url: string;
    down(): void;
    up(): void;
    close(): Promise<void>;
}

export async function startDbProxy(databaseUrl: string): Promise<DbProxy> {
    const target = new URL(databaseUrl);
    const sockets = new Set<net.Socket>();
    let isDown = false;
    const server = net.createServer((client) => {
        if (isDown) {
            client.destroy();
            return;
        }
        const upstream = net.connect(Number(target.port), target.hostname);
        for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on('close', () => sockets.delete(socket));
            socket.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String((server.address() as net.AddressInfo).port);
    return {
        url: url.toString(),
        down() {
            isDown = true;
            for (const socket of sockets) socket.destroy();
        },
        up() {
            isDown = false;
        },
        close: () =>
            new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy();
                server.close(() => resolve());
            }),
    };
}
