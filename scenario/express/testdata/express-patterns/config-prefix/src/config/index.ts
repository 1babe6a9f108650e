export default {
  port: 8080,
  http: {
    prefix: '/api',
  },
};
