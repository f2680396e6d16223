// Every text the realtime service sends back, worded as Supabase Realtime words it
// (supabase-js and apps match on some of them).

export const RealtimeErrors = {
    // Handshake (HTTP status + {"error": …})
    apiKeyMissing: 'API key is missing',
    handshakeExpired: 'Token has expired',
    // Channel join / access_token
    topicRequired: 'TopicNameRequired: You must provide a topic name',
    unmatchedTopic: 'unmatched topic',
    malformedJwt: 'MalformedJWT: The token provided is not a valid JWT',
    signature: 'JwtSignatureError: Failed to validate JWT signature',
    missingClaims: 'InvalidJWTToken: Fields `role` and `exp` are required in JWT',
    tokenExpired: (secondsAgo: number) => `InvalidJWTToken: Token has expired ${secondsAgo} seconds ago`,
    unauthorizedRead: (subTopic: string) => `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`,
    noLongerAuthorized: (subTopic: string) => `You no longer have permission to read from this Channel topic: ${subTopic}`,
    tooManyChannels: 'ChannelRateLimitReached: Too many channels',
    replayPublic: 'UnableToReplayMessages: Replay is not allowed for public channels',
    presenceNotMap: 'Presence track payload must be a map',
    payloadTooLarge: 'payload_size_exceeded',
    // postgres_changes
    subscribedToPostgres: 'Subscribed to PostgreSQL',
    replicationReady: 'Replication connection established',
    unableToSubscribe: (params: string) =>
        `Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: [${params}]`,
    noPrimaryKey: 'Error 400: Bad Request, no primary key',
    unauthorizedChange: 'Error 401: Unauthorized',
    changeTooLarge: 'Error 413: Payload Too Large',
    // HTTP API
    httpUnauthorized: 'Unauthorized',
} as const;
