/* ESLint 8 legacy config (the design card asks for .eslintrc.js). */
module.exports = {
  root: true,
  parser: '@typescript-eslint/parser',
  parserOptions: { project: './tsconfig.json', tsconfigRootDir: __dirname, sourceType: 'module' },
  plugins: ['@typescript-eslint'],
  extends: ['eslint:recommended', 'plugin:@typescript-eslint/recommended'],
  env: { node: true, jest: true },
  ignorePatterns: ['dist/', 'dist-sample/', 'node_modules/', '.eslintrc.js', 'jest.config.js', 'bench/*.js', 'scripts/*.js'],
  rules: {
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-explicit-any': 'error',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    'no-console': ['error', { allow: ['error', 'warn'] }],
    eqeqeq: ['error', 'always'],
  },
  overrides: [
    {
      files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
      rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
    },
  ],
};
