// A mail app's session with imapflow, run by TestImapFlow: implicit TLS
// login, LIST, open INBOX, fetch envelope and flags of every message, IDLE
// until a delivery's EXISTS arrives, flag the new message, move it to
// Archive, and log out. It prints one line per result for the Go test to
// check; "IDLING" tells the test that the server has acknowledged IDLE
// (the "+" continuation), so the test delivers only then.
'use strict';

const { ImapFlow } = require('imapflow');

const env = (k) => {
    if (!process.env[k]) {
        throw new Error(`${k} not set`);
    }
    return process.env[k];
};

// imapflow reports the server's IDLE continuation only in its debug log.
const logger = {
    trace() {},
    debug(entry) {
        if (entry && entry.msg === 'Initiated IDLE, waiting for server input') {
            console.log('IDLING');
        }
    },
    info() {},
    warn(entry) {
        console.error('imapflow warn', JSON.stringify(entry));
    },
    error(entry) {
        console.error('imapflow error', JSON.stringify(entry));
    }
};

async function main() {
    const client = new ImapFlow({
        host: env('HOST'),
        port: Number(env('PORT')),
        secure: true,
        tls: { rejectUnauthorized: false },
        auth: { user: env('USER'), pass: env('PASS') },
        logger,
        disableAutoIdle: true
    });
    client.on('error', (err) => {
        console.error('imapflow connection error', err);
        process.exit(2);
    });
    await client.connect();
    console.log('AUTH', client.authenticated ? 'yes' : 'no');

    const boxes = await client.list();
    for (const b of boxes) {
        console.log('LIST', b.path, b.specialUse || '-');
    }

    const box = await client.mailboxOpen('INBOX');
    console.log('OPEN', box.path, 'exists', box.exists, 'uidValidity', String(box.uidValidity));

    for await (const msg of client.fetch('1:*', { uid: true, envelope: true, flags: true })) {
        console.log('FETCH', msg.seq, 'uid', msg.uid, 'subject', msg.envelope.subject, 'from', msg.envelope.from[0].address, 'flags', [...msg.flags].sort().join(',') || '-');
    }

    // IDLE until the test's delivery shows up as EXISTS.
    const exists = new Promise((resolve) => client.once('exists', resolve));
    const idle = client.idle();
    const ev = await exists;
    console.log('EXISTS', ev.count, 'prev', ev.prevCount);
    // The next command breaks IDLE (DONE); the idle promise then ends.

    const last = await client.fetchOne('*', { uid: true, envelope: true, flags: true });
    console.log('NEW', 'uid', last.uid, 'subject', last.envelope.subject);
    await idle;

    const added = await client.messageFlagsAdd(String(last.uid), ['\\Flagged', '$Important'], { uid: true });
    const flagged = await client.fetchOne(String(last.uid), { flags: true }, { uid: true });
    console.log('FLAGS', added, [...flagged.flags].sort().join(','));

    const moved = await client.messageMove(String(last.uid), 'Archive', { uid: true });
    console.log('MOVED', moved.path, 'to', moved.destination, 'uidMap', moved.uidMap ? [...moved.uidMap].map(([a, b]) => `${a}->${b}`).join(',') : 'none');
    console.log('AFTERMOVE exists', client.mailbox.exists);

    const st = await client.status('Archive', { messages: true, unseen: true });
    console.log('STATUS Archive messages', st.messages, 'unseen', st.unseen);

    await client.logout();
    console.log('LOGOUT');
}

main().catch((err) => {
    console.error('FAILED', err && err.stack ? err.stack : err);
    process.exit(1);
});
