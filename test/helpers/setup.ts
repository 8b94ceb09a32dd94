import { noteMysqlSkipped } from './databases.js';

noteMysqlSkipped();
